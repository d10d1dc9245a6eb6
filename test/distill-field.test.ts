// The field-sample contract across packages: what the fleet server stores and `samples export`
// writes (@edgeloop/ota) is exactly what the dataset store imports (@edgeloop/distill).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DatasetStore } from '@edgeloop/distill';
import { SampleStore, exportSamples } from '@edgeloop/ota';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-distill-field-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function frame(seed: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const pixels = Uint8Array.from({ length: 16 * 12 * 3 }, (_, i) => (i * 31 + seed * 97) % 256);
  const s = sharp(pixels, { raw: { width: 16, height: 12, channels: 3 } });
  return format === 'jpeg' ? s.jpeg().toBuffer() : s.png().toBuffer();
}

describe('field samples: fleet server -> samples export -> dataset import --field', () => {
  it('imports every exported sample with its device provenance and none counted corrupt', async () => {
    const dataDir = join(dir, 'server');
    const samples = new SampleStore(join(dataDir, 'samples'));
    await samples.open();
    const a = await frame(1, 'jpeg');
    const b = await frame(2, 'png');
    const sha = (x: Buffer): string => createHash('sha256').update(x).digest('hex');
    const ts = '2026-11-20T10:00:00.000Z';
    await samples.put('cam-1', { v: 1, id: 's1', sha256: sha(a), ts, contentType: 'image/jpeg', meta: { model: { version: 7 }, reasons: ['low-confidence', 'small-margin'], prediction: { label: '3', confidence: 0.41 } } }, a);
    // A device that says nothing about its model or reasons: modelVersion null, reason ''.
    await samples.put('cam-2', { v: 1, id: 's2', sha256: sha(b), ts, contentType: 'image/png' }, b);
    // The same image from another device: exported once.
    await samples.put('cam-3', { v: 1, id: 's3', sha256: sha(a), ts, contentType: 'image/jpeg', meta: { model: { version: 8 }, reasons: ['drift'] } }, a);

    const out = join(dir, 'export');
    const exported = await exportSamples(dataDir, out);
    assert.equal(exported.exported, 2);

    const store = await DatasetStore.open(join(dir, 'store'), { create: true });
    const report = await store.importField(out);
    assert.deepEqual(report.corrupt, []);
    assert.equal(report.added, 2);
    assert.equal(report.ignored, 0);

    const ra = store.get(sha(a));
    assert.ok(ra && ra.provenance.origin === 'field');
    assert.equal(ra.label, undefined);
    assert.equal(ra.format, 'jpeg');
    assert.equal(ra.provenance.deviceId, 'cam-3', 'the latest sidecar wins in the export');
    assert.equal(ra.provenance.modelVersion, 8);
    assert.equal(ra.provenance.reason, 'drift');
    assert.equal(ra.provenance.capturedAt, ts);

    const rb = store.get(sha(b));
    assert.ok(rb && rb.provenance.origin === 'field');
    assert.equal(rb.format, 'png', 'exported as .jpg, recognised as PNG from the bytes');
    assert.equal(rb.provenance.modelVersion, null);
    assert.equal(rb.provenance.reason, '');

    // Exporting and importing again changes nothing.
    await exportSamples(dataDir, out);
    const again = await store.importField(out);
    assert.deepEqual([again.added, again.duplicates, again.corrupt.length], [0, 2, 0]);
  });
});
