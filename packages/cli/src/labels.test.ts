import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readLabels } from './labels.js';

test('readLabels takes a comma-separated list or a file with one label per line', async () => {
  assert.deepEqual(await readLabels(' cat, dog ,,bird'), ['cat', 'dog', 'bird']);
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-labels-'));
  try {
    const file = join(dir, 'labels.txt');
    await writeFile(file, 'zero\r\none, two\n\n three \n');
    assert.deepEqual(await readLabels(file), ['zero', 'one, two', 'three']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
