// The dataset store on real files: class folders, corrupt images counted, duplicates deduplicated,
// deterministic splits, field samples with sidecars, export, torn index lines, loading a split.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Preprocessing } from '@edgeloop/bundle';
import { Preprocessor } from '@edgeloop/runtime';
import sharp from 'sharp';
import { DatasetStoreError } from '../errors.js';
import { Rng } from '../random.js';
import { DatasetStore } from './dataset-store.js';
import { loadStoreDataset } from './load.js';
import { splitOf } from './records.js';

let dir: string;
let rng: Rng;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-store-'));
  rng = new Rng(7);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function image(format: 'png' | 'jpeg', width = 6, height = 5): Promise<Buffer> {
  const pixels = Uint8Array.from({ length: width * height * 3 }, () => rng.int(256));
  const s = sharp(pixels, { raw: { width, height, channels: 3 } });
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality: 90 }).toBuffer();
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('DatasetStore.importFolder', () => {
  it('labels by class folder, dedupes by sha256, counts corrupt files, assigns splits by hash', async () => {
    const src = join(dir, 'classes');
    await mkdir(join(src, 'cat', 'nested'), { recursive: true });
    await mkdir(join(src, 'dog'), { recursive: true });
    const cats = [await image('png'), await image('jpeg'), await image('png')];
    const dogs = [await image('jpeg'), await image('png')];
    await writeFile(join(src, 'cat', '1.png'), cats[0]);
    await writeFile(join(src, 'cat', '2.jpg'), cats[1]);
    await writeFile(join(src, 'cat', 'nested', '3.png'), cats[2]);
    await writeFile(join(src, 'cat', 'copy-of-1.png'), cats[0]);
    await writeFile(join(src, 'dog', '1.jpeg'), dogs[0]);
    await writeFile(join(src, 'dog', '2.png'), dogs[1]);
    await writeFile(join(src, 'dog', 'also-cat-1.png'), cats[0]);
    await writeFile(join(src, 'dog', 'truncated.png'), dogs[1].subarray(0, Math.floor(dogs[1].length / 2)));
    await writeFile(join(src, 'dog', 'not-an-image.jpg'), 'hello');
    await writeFile(join(src, 'dog', 'empty.png'), '');
    await writeFile(join(src, 'README.txt'), 'notes');

    const store = await DatasetStore.open(join(dir, 'store-a'), { create: true });
    const report = await store.importFolder(src);
    assert.equal(report.scanned, 10);
    assert.equal(report.added, 5);
    assert.equal(report.duplicates, 2);
    assert.equal(report.labelConflicts.length, 1);
    assert.match(report.labelConflicts[0].reason, /stored as 'cat', folder says 'dog'/);
    assert.equal(report.ignored, 1);
    assert.equal(report.corrupt.length, 3, JSON.stringify(report.corrupt));
    assert.deepEqual(report.corrupt.map((c) => c.path.split('/').pop()).sort(), ['empty.png', 'not-an-image.jpg', 'truncated.png']);
    assert.deepEqual(report.labels, { cat: 3, dog: 2 });
    assert.equal(report.splits.train + report.splits.val + report.splits.test, 5);
    assert.deepEqual(store.labels(), ['cat', 'dog']);

    const record = store.get(sha(cats[2]));
    assert.ok(record);
    assert.equal(record.label, 'cat');
    assert.equal(record.format, 'png');
    assert.deepEqual([record.width, record.height], [6, 5]);
    assert.equal(record.provenance.origin, 'folder');
    assert.equal(record.provenance.sourcePath, join(src, 'cat', 'nested', '3.png'));
    assert.equal(record.split, splitOf(record.sha256, store.splits));
    assert.deepEqual(await readFile(join(dir, 'store-a', 'blobs', record.sha256.slice(0, 2), record.sha256.slice(2))), cats[2]);
    const lines = (await readFile(store.indexPath, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 5);

    // Importing again adds nothing; reopening gives the same records and splits.
    const again = await store.importFolder(src);
    assert.equal(again.added, 0);
    assert.equal(again.duplicates, 7);
    const reopened = await DatasetStore.open(join(dir, 'store-a'));
    assert.deepEqual(reopened.records(), store.records());
  });

  it('imports a flat folder unlabeled, and a later class folder gives those samples labels', async () => {
    const flat = join(dir, 'flat');
    await mkdir(join(dir, 'labelled', 'x'), { recursive: true });
    await mkdir(flat, { recursive: true });
    const a = await image('png');
    await writeFile(join(flat, 'a.png'), a);
    await writeFile(join(flat, 'b.jpg'), await image('jpeg'));
    await writeFile(join(dir, 'labelled', 'x', 'a.png'), a);
    const store = await DatasetStore.open(join(dir, 'store-flat'), { create: true });
    const report = await store.importFolder(flat);
    assert.equal(report.added, 2);
    assert.deepEqual(report.labels, {});
    assert.equal(store.records({ labelled: false }).length, 2);
    const second = await store.importFolder(join(dir, 'labelled'));
    assert.equal(second.labelled, 1);
    assert.equal(store.get(sha(a))?.label, 'x');
    assert.equal((await DatasetStore.open(store.dir)).get(sha(a))?.label, 'x', 'the label change is in the index');
  });

  it('splits are a pure function of the hash and the ratios', () => {
    const ratios = { train: 0.8, val: 0.1, test: 0.1 };
    const counts = { train: 0, val: 0, test: 0 };
    for (let i = 0; i < 2000; i++) counts[splitOf(sha(Buffer.from(String(i))), ratios)]++;
    assert.ok(counts.train > 1500 && counts.train < 1700, JSON.stringify(counts));
    assert.ok(counts.val > 140 && counts.val < 260 && counts.test > 140 && counts.test < 260, JSON.stringify(counts));
    assert.equal(splitOf('0'.repeat(64), ratios), 'train');
    assert.equal(splitOf('f'.repeat(64), ratios), 'test');
  });

  it('refuses to open a folder that is not a store', async () => {
    await assert.rejects(DatasetStore.open(join(dir, 'nothing')), DatasetStoreError);
  });
});

describe('DatasetStore.importField', () => {
  it('imports <sha256>.jpg + <sha256>.json with provenance; bad hashes and sidecars are counted', async () => {
    const src = join(dir, 'field');
    await mkdir(src, { recursive: true });
    const good = await image('jpeg', 16, 12);
    const goodSha = sha(good);
    await writeFile(join(src, `${goodSha}.jpg`), good);
    const prediction = { label: '3', confidence: 0.41, entropy: 1.7 };
    await writeFile(join(src, `${goodSha}.json`), JSON.stringify({ deviceId: 'pi-7', modelVersion: 12, reason: 'uncertain', prediction, capturedAt: '2026-11-20T10:00:00.000Z' }));
    const renamed = await image('jpeg');
    await writeFile(join(src, `${'0'.repeat(64)}.jpg`), renamed);
    await writeFile(join(src, `${'0'.repeat(64)}.json`), JSON.stringify({ deviceId: 'pi-7', modelVersion: 12, reason: 'drift', capturedAt: '2026-11-20T10:00:00Z' }));
    const orphan = await image('jpeg');
    await writeFile(join(src, `${sha(orphan)}.jpg`), orphan);
    const badSidecar = await image('jpeg');
    await writeFile(join(src, `${sha(badSidecar)}.jpg`), badSidecar);
    await writeFile(join(src, `${sha(badSidecar)}.json`), JSON.stringify({ deviceId: 'pi-7', reason: 'uncertain', capturedAt: 'yesterday' }));

    // As `edgeloop samples export` writes it: always `.jpg` (whatever the device sent), modelVersion null when unknown.
    const png = await image('png');
    await writeFile(join(src, `${sha(png)}.jpg`), png);
    await writeFile(join(src, `${sha(png)}.json`), JSON.stringify({ deviceId: 'pi-8', modelVersion: null, reason: '', prediction: null, capturedAt: '2026-11-21T08:00:00.000Z' }));

    const store = await DatasetStore.open(join(dir, 'store-field'), { create: true });
    const report = await store.importField(src);
    assert.equal(report.added, 2);
    assert.equal(report.corrupt.length, 3, JSON.stringify(report.corrupt));
    const reasons = report.corrupt.map((c) => c.reason).join(' | ');
    assert.match(reasons, /file name is not the sha256 of its bytes/);
    assert.match(reasons, /missing sidecar/);
    assert.match(reasons, /no modelVersion/);
    assert.equal(report.ignored, 0);
    const record = store.get(goodSha);
    assert.ok(record && record.provenance.origin === 'field');
    assert.equal(record.label, undefined);
    assert.equal(record.provenance.deviceId, 'pi-7');
    assert.equal(record.provenance.modelVersion, 12);
    assert.equal(record.provenance.reason, 'uncertain');
    assert.deepEqual(record.provenance.prediction, prediction);
    assert.equal(record.provenance.capturedAt, '2026-11-20T10:00:00.000Z');
    assert.equal(record.format, 'jpeg');
    const exported = store.get(sha(png));
    assert.ok(exported && exported.provenance.origin === 'field');
    assert.equal(exported.format, 'png', 'the format comes from the bytes, not the name');
    assert.equal(exported.provenance.modelVersion, null);
  });
});

describe('DatasetStore export, index and loading', () => {
  it('exports class folders that import back to the same samples', async () => {
    const src = join(dir, 'roundtrip');
    for (const label of ['0', '1', '10', '2']) {
      await mkdir(join(src, label), { recursive: true });
      await writeFile(join(src, label, 'a.png'), await image('png'));
    }
    await writeFile(join(src, 'loose.png'), await image('png'));
    const store = await DatasetStore.open(join(dir, 'store-rt'), { create: true });
    await store.importFolder(src);
    assert.deepEqual(store.labels(), ['0', '1', '2', '10'], 'natural order');
    const out = join(dir, 'exported');
    const exported = await store.exportTo(out);
    assert.equal(exported.exported, 5);
    assert.equal(exported.unlabeled, 1);
    assert.deepEqual((await readdir(out)).sort(), ['0', '1', '10', '2', `${store.records({ labelled: false })[0].sha256}.png`].sort());
    const copy = await DatasetStore.open(join(dir, 'store-rt2'), { create: true });
    await copy.importFolder(out);
    assert.deepEqual(copy.records().map((r) => [r.sha256, r.label, r.split]), store.records().map((r) => [r.sha256, r.label, r.split]));
  });

  it('drops a torn last index line on open and rewrites the index', async () => {
    const src = join(dir, 'torn');
    await mkdir(join(src, 'k'), { recursive: true });
    await writeFile(join(src, 'k', 'a.png'), await image('png'));
    const store = await DatasetStore.open(join(dir, 'store-torn'), { create: true });
    await store.importFolder(src);
    await appendFile(store.indexPath, '{"sha256":"abc');
    const reopened = await DatasetStore.open(store.dir);
    assert.equal(reopened.size, 1);
    assert.equal((await readFile(store.indexPath, 'utf8')).split('\n').filter(Boolean).length, 1);
    await writeFile(store.indexPath, 'garbage\n{}\n');
    await assert.rejects(DatasetStore.open(store.dir), /index line 1 is not a sample record/);
  });

  it('loads a split as a Dataset preprocessed exactly as the runtime does', async () => {
    const src = join(dir, 'load');
    const images: Buffer[] = [];
    for (const label of ['p', 'q']) {
      await mkdir(join(src, label), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const b = await image(i === 0 ? 'jpeg' : 'png', 9, 7);
        images.push(b);
        await writeFile(join(src, label, `${i}.png`), b);
      }
    }
    const store = await DatasetStore.open(join(dir, 'store-load'), { create: true, splits: { train: 1, val: 0, test: 0 } });
    await store.importFolder(src);
    const preprocessing: Preprocessing = { width: 4, height: 4, resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.5], std: [0.5] };
    const loaded = await loadStoreDataset(store, { split: 'train', preprocessing });
    assert.equal(loaded.dataset.count, 6);
    assert.deepEqual(loaded.dataset.sampleShape, [1, 4, 4]);
    assert.deepEqual(loaded.classNames, ['p', 'q']);
    assert.deepEqual(Array.from(loaded.dataset.labels ?? []), [0, 0, 0, 1, 1, 1]);
    const pre = new Preprocessor(preprocessing);
    for (let i = 0; i < 6; i++) {
      const expected = (await pre.run(loaded.samples[i].image as Uint8Array)).tensor.data as Float32Array;
      assert.deepEqual(Array.from(loaded.dataset.inputs.subarray(i * 16, (i + 1) * 16)), Array.from(expected));
      assert.equal(loaded.samples[i].sha256, loaded.records[i].sha256);
    }
    await assert.rejects(loadStoreDataset(store, { preprocessing, classNames: ['p'] }), /label 'q', not one of the 1 classes/);
  });
});
