import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fsyncDirectory, writeFileAtomic, writeJsonAtomic } from './fs-atomic.js';

test('writeFileAtomic creates directories, replaces the file, honours mode and leaves no temp files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-atomic-'));
  try {
    const path = join(dir, 'a', 'b', 'state.json');
    await writeFileAtomic(path, 'one');
    await writeJsonAtomic(path, { v: 2 }, { durable: false });
    assert.equal(await readFile(path, 'utf8'), '{\n  "v": 2\n}\n');
    const secret = join(dir, 'secret');
    await writeFileAtomic(secret, Uint8Array.of(1, 2, 3), { mode: 0o600 });
    assert.equal((await stat(secret)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(join(dir, 'a', 'b'))).sort(), ['state.json']);
    await fsyncDirectory(join(dir, 'missing'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failed rename removes the temp file and keeps the target', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-atomic-'));
  try {
    const target = join(dir, 'target');
    await writeFileAtomic(join(target, 'inner'), 'x'); // target is a non-empty directory: rename fails
    await assert.rejects(writeFileAtomic(target, 'y'));
    assert.deepEqual((await readdir(dir)).sort(), ['target']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
