// The soft-label cache on disk: layout, atomic entries, unreadable entries treated as misses.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { LabelCache, sampleKey } from './label-cache.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-label-cache-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('stores outputs under <teacher>/<sha[0..2]>/<sha>.json with no temp files left behind', async () => {
  const cache = new LabelCache(dir);
  const key = sampleKey({ image: Uint8Array.of(1, 2, 3) });
  assert.equal(key, '039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81');
  await cache.set('t1', key, { kind: 'logits', values: [1.5, -2, 0.25] });
  assert.deepEqual(await cache.get('t1', key), { kind: 'logits', values: [1.5, -2, 0.25] });
  assert.equal(await cache.get('t2', key), undefined, 'another teacher does not share entries');
  assert.deepEqual(await readdir(join(dir, 't1', '03')), [`${key}.json`]);
});

it('treats a truncated or malformed entry as a miss (relabelled, never trusted)', async () => {
  const cache = new LabelCache(dir);
  const key = 'ab'.repeat(32);
  await cache.set('t1', key, { kind: 'probabilities', values: [0.5, 0.5] });
  await writeFile(cache.path('t1', key), '{"kind":"probabilities","values":[0.5,');
  assert.equal(await cache.get('t1', key), undefined);
  await writeFile(cache.path('t1', key), '{"kind":"scores","values":[1]}');
  assert.equal(await cache.get('t1', key), undefined);
});

it('keys tensors by their bytes when there is no image', () => {
  const a = sampleKey({ tensor: Float32Array.of(1, 2) });
  const b = sampleKey({ tensor: Float32Array.of(1, 2) });
  const c = sampleKey({ tensor: Float32Array.of(1, 3) });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.equal(sampleKey({ sha256: 'f'.repeat(64), image: Uint8Array.of(1) }), 'f'.repeat(64));
});
