import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { testImage, withTempDir } from './bundles.test.helpers.js';
import { SampleSpool, type SampleInput } from './spool.js';

function sample(image: SampleInput['image'], seq: number): SampleInput {
  return { image, model: { name: 'toy', version: 3 }, reasons: ['low-confidence'], prediction: { task: 'classification', classIndex: 1, score: 0.4 }, frame: { seq } };
}

/** Random-pixel JPEG of about `bytes` bytes (noise does not compress). */
async function noiseJpeg(width: number, seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * width * 3);
  let s = seed + 1;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    raw[i] = s >> 23;
  }
  return sharp(raw, { raw: { width, height: width, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

void describe('SampleSpool', () => {
  void it('stores samples atomically, survives a restart and removes only on request', async () => {
    await withTempDir(async (dir) => {
      const spoolDir = join(dir, 'spool');
      const spool = await SampleSpool.open({ dir: spoolDir });
      const jpeg = await testImage(1, 'jpeg');
      const a = await spool.add(sample(jpeg, 1));
      const b = await spool.add(sample(await testImage(2, 'png'), 2));
      const c = await spool.add(sample({ data: new Uint8Array(4 * 4 * 3).fill(90), width: 4, height: 4, channels: 3 }, 3));
      assert.ok(a.stored && b.stored && c.stored);
      const { meta, image } = await spool.read(a.id);
      assert.deepEqual(Buffer.from(image), jpeg, 'a JPEG frame is stored as is');
      assert.deepEqual(meta.model, { name: 'toy', version: 3 });
      assert.deepEqual(meta.reasons, ['low-confidence']);
      assert.equal(meta.frame.seq, 1);
      assert.equal((await sharp((await spool.read(b.id)).image).metadata()).format, 'jpeg', 'PNG re-encoded');
      assert.equal((await sharp((await spool.read(c.id)).image).metadata()).width, 4, 'raw frame encoded');

      // Debris of a crash: a temp file, an uncommitted image, an orphaned metadata file.
      await writeFile(join(spoolDir, '.tmp-x.jpg.0000'), 'partial');
      await writeFile(join(spoolDir, '1700000000000-000001-deadbeef.jpg'), 'no meta');
      await writeFile(join(spoolDir, '1700000000000-000002-deadbeef.json'), '{}');
      const reopened = await SampleSpool.open({ dir: spoolDir });
      assert.deepEqual(reopened.list().map((e) => e.id), [a.id, b.id, c.id]);
      assert.equal(reopened.stats.recovered, 3);
      assert.equal(reopened.stats.bytes, spool.stats.bytes);
      assert.equal(await reopened.remove(b.id), true);
      assert.equal(await reopened.remove(b.id), false);
      assert.equal((await readdir(spoolDir)).length, 4);
      await assert.rejects(reopened.read(b.id), /no sample/);
    });
  });

  void it('holds count and byte budgets by dropping the oldest first, and counts it', async () => {
    await withTempDir(async (dir) => {
      const byCount = await SampleSpool.open({ dir: join(dir, 'count'), maxCount: 3, durable: false });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await byCount.add(sample(await testImage(i, 'jpeg'), i));
        if (r.stored) ids.push(r.id);
      }
      assert.deepEqual(byCount.list().map((e) => e.id), ids.slice(2));
      assert.equal(byCount.stats.evicted, 2);

      const image = await noiseJpeg(48, 1);
      const budget = Math.floor((image.length + 400) * 2.5);
      const byBytes = await SampleSpool.open({ dir: join(dir, 'bytes'), maxBytes: budget, durable: false });
      for (let i = 0; i < 4; i++) await byBytes.add(sample(await noiseJpeg(48, i), i));
      assert.equal(byBytes.list().length, 2);
      assert.ok(byBytes.stats.bytes <= budget);
      assert.equal(byBytes.stats.evicted, 2);
      const tooBig = await byBytes.add(sample(await noiseJpeg(128, 9), 9));
      assert.equal(tooBig.stored, false);
      assert.equal(!tooBig.stored && tooBig.reason, 'too-large');
      assert.equal(byBytes.list().length, 2, 'nothing evicted for a sample that can never fit');
    });
  });

  void it('on ENOSPC evicts the oldest and retries; when nothing fits it drops the sample without throwing', async (t) => {
    // A real full disk: a 128 KiB tmpfs (needs root; skipped elsewhere).
    const mount = join(tmpdir(), `edgeloop-spool-enospc-${process.pid}`);
    await mkdir(mount, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      await rm(mount, { recursive: true, force: true });
      t.skip('cannot mount a tmpfs here (not root)');
      return;
    }
    try {
      // The budget believes 10 MiB are free; the disk has 128 KiB.
      const spool = await SampleSpool.open({ dir: join(mount, 'spool'), maxBytes: 10 * 1024 * 1024 });
      const results = [];
      for (let i = 0; i < 12; i++) results.push(await spool.add(sample(await noiseJpeg(96, i), i)));
      assert.ok(results.every((r) => r.stored), JSON.stringify(results.filter((r) => !r.stored)));
      assert.ok(spool.stats.evicted > 0, 'ENOSPC made room by evicting');
      assert.ok(spool.list().length < 12);
      // A sample bigger than the whole disk: everything evicted, then dropped, no throw.
      const huge = await spool.add(sample(await noiseJpeg(400, 1), 99));
      assert.equal(huge.stored, false);
      assert.equal(!huge.stored && huge.reason, 'write-failed');
      assert.match(spool.stats.lastError ?? '', /ENOSPC|no space/i);
      assert.equal(spool.stats.rejected, 1);
      // Still usable afterwards.
      assert.equal((await spool.add(sample(await testImage(1, 'jpeg'), 100))).stored, true);
      assert.equal((await readdir(join(mount, 'spool'))).filter((n) => n.startsWith('.tmp-')).length, 0, 'no temp debris');
    } finally {
      execFileSync('umount', [mount]);
      await rm(mount, { recursive: true, force: true });
    }
  });
});
