// SampleStore: group-committed index appends, duplicates decided once per sample (also when two
// puts of it overlap, and across stores sharing a directory), and a torn last line cut at open.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { SampleHeader } from '../schemas.js';
import { SampleStore } from './sample-store.js';
import type { SampleIndexEntry } from './sample-store.js';

function sample(id: string): { header: SampleHeader; data: Buffer } {
  const data = randomBytes(100);
  return { header: { v: 1, id, sha256: createHash('sha256').update(data).digest('hex'), ts: new Date().toISOString(), contentType: 'image/jpeg' }, data };
}

async function index(dir: string): Promise<SampleIndexEntry[]> {
  const text = await readFile(join(dir, 'index.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'));
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as SampleIndexEntry);
}

describe('SampleStore', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'edgeloop-sample-store-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores concurrent puts once each, and the same sample twice at once as stored + duplicate', async () => {
    const dir = join(root, 'concurrent');
    const store = new SampleStore(dir);
    await store.open();
    const samples = Array.from({ length: 40 }, (_, i) => sample(`s${i}`));
    const results = await Promise.all([...samples, samples[3], samples[7]].map((s) => store.put('dev', s.header, s.data)));
    assert.equal(results.filter((r) => r === 'stored').length, 40);
    assert.equal(results.filter((r) => r === 'duplicate').length, 2);
    const entries = await index(dir);
    assert.deepEqual(entries.map((e) => e.id).sort(), samples.map((s) => s.header.id).sort());
    for (const s of samples) assert.deepEqual(await readFile(store.blobPath(s.header.sha256)), s.data);

    const reopened = new SampleStore(dir);
    await reopened.open();
    assert.equal(await reopened.put('dev', samples[0].header, samples[0].data), 'duplicate');
  });

  it('sees samples another store on the same directory appended (replicas)', async () => {
    const dir = join(root, 'replicas');
    const a = new SampleStore(dir);
    const b = new SampleStore(dir);
    await a.open();
    await b.open();
    const s = sample('x');
    assert.equal(await a.put('dev', s.header, s.data), 'stored');
    assert.equal(await b.put('dev', s.header, s.data), 'duplicate');
    const t = sample('y');
    assert.equal(await b.put('dev', t.header, t.data), 'stored');
    assert.equal(await a.put('dev', t.header, t.data), 'duplicate');
    assert.deepEqual((await index(dir)).map((e) => e.id), ['x', 'y']);
  });

  it('cuts a torn last line at open so the next entry is not glued to it', async () => {
    const dir = join(root, 'torn');
    const first = new SampleStore(dir);
    await first.open();
    const s = sample('kept');
    await first.put('dev', s.header, s.data);
    await appendFile(join(dir, 'index.jsonl'), '{"v":1,"id":"torn","sha');
    const store = new SampleStore(dir);
    await store.open();
    const t = sample('next');
    assert.equal(await store.put('dev', t.header, t.data), 'stored');
    assert.deepEqual((await index(dir)).map((e) => e.id), ['kept', 'next']);
  });
});
