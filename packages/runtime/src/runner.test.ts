import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { makeClassifierBundle, testImage, testKeys, testTrust, withTempDir } from './bundles.test.helpers.js';
import { DriftMonitor } from './drift.js';
import { Engine } from './engine.js';
import { RunConfigError } from './errors.js';
import { runCommand } from './run-command.js';
import { Runner, type FrameOutcome, type SampleOutcome } from './runner.js';
import { HotSwapEngine } from './hot-swap.js';
import { FieldSampler } from './sampler.js';
import { FolderSource } from './sources/folder.js';
import { MjpegHttpSource } from './sources/mjpeg-http.js';
import { SampleSpool } from './spool.js';

async function mixedFolder(dir: string): Promise<void> {
  for (let i = 0; i < 6; i++) await writeFile(join(dir, `f${i}.png`), await testImage(i));
  const jpeg = await testImage(9, 'jpeg');
  await writeFile(join(dir, 'g0-empty.jpg'), new Uint8Array(0));
  await writeFile(join(dir, 'g1-truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
  await writeFile(join(dir, 'g2-garbage.png'), Buffer.from('this is not a png at all'));
}

void describe('Runner', () => {
  void it('runs source -> infer -> sampler/spool -> metrics, counting and skipping bad frames', async () => {
    await withTempDir(async (dir) => {
      const frames = join(dir, 'frames');
      await mkdir(frames);
      await mixedFolder(frames);
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 1 });
      const spool = await SampleSpool.open({ dir: join(dir, 'spool'), durable: false });
      const outcomes: FrameOutcome[] = [];
      const samples: SampleOutcome[] = [];
      const drift = new DriftMonitor({ image: { mean: [0.5], std: [0.29], min: 0, max: 1 } }, { window: 5, minFrames: 2, checkEvery: 1 });
      try {
        const runner = new Runner({
          engine,
          source: new FolderSource({ path: frames }),
          // Every frame counts as uncertain for this toy model, so all good frames are candidates.
          sampler: new FieldSampler({ lowConfidence: 1.01, ratePerMinute: 0, dedupe: false, classBalance: false }),
          spool,
          drift,
          // Sampling runs beside the loop; let none be skipped as backlog here so the counts are exact.
          maxPendingSamples: 100,
          onFrame: (o) => outcomes.push(o),
          onSample: (s) => samples.push(s),
        });
        const summary = await runner.run();
        assert.equal(summary.received, 9);
        assert.equal(summary.frames, 6);
        assert.deepEqual(summary.skipped, { empty: 1, decode: 2, inference: 0 });
        assert.equal(summary.decodeErrors, 3);
        assert.equal(summary.droppedFrames, 0, 'a folder replay is not live: nothing dropped');
        assert.equal(summary.model?.provider, 'cpu');
        assert.ok(summary.latencyMs.total.p50 > 0);
        assert.equal(summary.done, true);
        const skipped = outcomes.filter((o) => o.status === 'skipped');
        assert.deepEqual(skipped.map((o) => o.frame.origin?.split('/').pop()), ['g0-empty.jpg', 'g1-truncated.jpg', 'g2-garbage.png']);
        assert.ok(skipped.every((o) => o.status === 'skipped' && o.error.length > 0));
        assert.equal(samples.length, 6);
        assert.equal(spool.list().length, 6);
        assert.equal(summary.samples.chosen, 6);
        const stored = await spool.read(samples[0].spooled!);
        assert.equal(stored.meta.model.name, 'toy-classifier');
        assert.equal((stored.meta.prediction as { task: string }).task, 'classification');
        assert.ok(summary.drift !== undefined && summary.drift.tensors[0].name === 'image');
      } finally {
        await engine.release();
      }
    });
  });

  void it('pipelines frames (next decode beside the current run) yet reports every frame of a folder in order, none lost', async () => {
    await withTempDir(async (dir) => {
      const frames = join(dir, 'frames');
      await mkdir(frames);
      // Mixed sizes so decode times differ and later frames could overtake earlier ones, plus bad frames in between.
      for (let i = 0; i < 24; i++) await writeFile(join(frames, `f${String(i).padStart(2, '0')}.jpg`), await testImage(i, 'jpeg', i % 3 === 0 ? 640 : 32, i % 3 === 0 ? 480 : 24));
      await writeFile(join(frames, 'f05b-empty.jpg'), new Uint8Array(0));
      await writeFile(join(frames, 'f11b-garbage.jpg'), Buffer.from('not a jpeg'));
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 0 });
      try {
        for (const depth of [1, 2, 3]) {
          // Frames handed to the engine whose outcome the runner has not reported yet, at each hand-over.
          const outcomes: FrameOutcome[] = [];
          let calls = 0;
          let maxOutstanding = 0;
          const watched = {
            manifest: engine.manifest,
            provider: engine.provider,
            infer: (...args: Parameters<Engine['infer']>) => {
              calls++;
              const reported = outcomes.filter((o) => !(o.status === 'skipped' && o.reason === 'empty')).length;
              maxOutstanding = Math.max(maxOutstanding, calls - reported);
              return engine.infer(...args);
            },
          };
          const summary = await new Runner({ engine: watched, source: new FolderSource({ path: frames }), pipelineDepth: depth, onFrame: (o) => outcomes.push(o) }).run();
          assert.equal(summary.received, 26, `depth ${depth}`);
          assert.equal(summary.frames, 24);
          assert.deepEqual(summary.skipped, { empty: 1, decode: 1, inference: 0 });
          assert.deepEqual(outcomes.map((o) => o.frame.seq), [...Array(26).keys()], `depth ${depth}: every frame, in source order`);
          assert.deepEqual(
            outcomes.filter((o) => o.status === 'skipped').map((o) => o.frame.origin?.split('/').pop()),
            ['f05b-empty.jpg', 'f11b-garbage.jpg'],
          );
          assert.equal(maxOutstanding, depth, `depth ${depth}: frames handed over before the oldest was collected`);
          assert.equal(engine.inFlight, 0);
        }
      } finally {
        await engine.release();
      }
    });
  });

  void it('stops at maxFrames and on abort without losing the frames already taken from the source', async () => {
    await withTempDir(async (dir) => {
      const frames = join(dir, 'frames');
      await mkdir(frames);
      for (let i = 0; i < 4; i++) await writeFile(join(frames, `f${i}.png`), await testImage(i));
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 0 });
      try {
        const seqs: number[] = [];
        const summary = await new Runner({ engine, source: new FolderSource({ path: frames, loop: true }), maxFrames: 37, pipelineDepth: 3, onFrame: (o) => seqs.push(o.frame.seq) }).run();
        assert.equal(summary.received, 37);
        assert.equal(summary.frames, 37);
        assert.deepEqual(seqs, [...Array(37).keys()]);

        const controller = new AbortController();
        const aborted: number[] = [];
        const stopped = await new Runner({
          engine,
          source: new FolderSource({ path: frames, loop: true }),
          signal: controller.signal,
          onFrame: (o) => {
            aborted.push(o.frame.seq);
            if (aborted.length === 10) controller.abort();
          },
        }).run();
        assert.equal(stopped.frames, stopped.received, 'every frame received was reported');
        assert.deepEqual(aborted, [...Array(stopped.received).keys()]);
        assert.equal(engine.inFlight, 0);
      } finally {
        await engine.release();
      }
    });
  });

  void it('hot-swaps under a pipelined loop: no frame lost or repeated, in order, old model only before the switch', async () => {
    await withTempDir(async (dir) => {
      const frames = join(dir, 'frames');
      await mkdir(frames);
      for (let i = 0; i < 5; i++) await writeFile(join(frames, `f${i}.jpg`), await testImage(i, 'jpeg', i === 0 ? 640 : 32, i === 0 ? 480 : 24));
      const engine = await HotSwapEngine.open({ bundle: await makeClassifierBundle(dir, { version: 1 }), trust: testTrust(), warmUpRuns: 0 }, { keepPrevious: false });
      const v2 = await makeClassifierBundle(dir, { version: 2 });
      const outcomes: FrameOutcome[] = [];
      let swap: Promise<unknown> | undefined;
      try {
        const summary = await new Runner({
          engine,
          source: new FolderSource({ path: frames, loop: true }),
          maxFrames: 150,
          pipelineDepth: 3,
          onFrame: (o) => {
            outcomes.push(o);
            if (outcomes.length === 30) swap = engine.swap(v2);
          },
        }).run();
        await swap;
        assert.equal(summary.frames, 150);
        assert.deepEqual(outcomes.map((o) => o.frame.seq), [...Array(150).keys()], 'every frame once, in order');
        const versions = outcomes.map((o) => (o.status === 'ok' ? o.result.model.version : 0));
        const firstV2 = versions.indexOf(2);
        assert.ok(firstV2 > 30, `first v2 frame at ${firstV2}`);
        assert.ok(versions.slice(0, firstV2).every((v) => v === 1) && versions.slice(firstV2).every((v) => v === 2), versions.join(''));
        assert.equal(engine.previous, undefined, 'the replaced engine was freed once its frames finished');
      } finally {
        await engine.release();
      }
    });
  });

  void it('keeps a live source current when inference is slower than the camera (frames dropped, counted)', async () => {
    await withTempDir(async (dir) => {
      const jpeg = await testImage(5, 'jpeg');
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=b' });
        const timer = setInterval(() => res.write(Buffer.concat([Buffer.from(`--b\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`), jpeg, Buffer.from('\r\n')])), 1);
        res.on('close', () => clearInterval(timer));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 0 });
      try {
        const slow = {
          manifest: engine.manifest,
          provider: engine.provider,
          infer: async (...args: Parameters<Engine['infer']>) => {
            await new Promise((r) => setTimeout(r, 20));
            return engine.infer(...args);
          },
        };
        const seqs: number[] = [];
        const summary = await new Runner({ engine: slow, source: new MjpegHttpSource({ url }), maxFrames: 8, onFrame: (o) => seqs.push(o.frame.seq) }).run();
        assert.equal(summary.frames, 8);
        assert.ok(summary.droppedFrames > 0, `dropped ${summary.droppedFrames}`);
        assert.ok(seqs[7] - seqs[0] > 7, `seqs ${seqs.join(',')}`);
        assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), `newest first, never out of order: ${seqs.join(',')}`);
        // Every frame skipped between two processed ones was replaced in the mailbox and counted
        // (more may be counted after the last one, while the loop wound down).
        assert.ok(summary.droppedFrames >= seqs[7] - seqs[0] - 7, `dropped ${summary.droppedFrames}, gaps ${seqs[7] - seqs[0] - 7}`);
      } finally {
        await engine.release();
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });
  });
});

void describe('runCommand', () => {
  void it('runs a bundle on a folder and prints JSON lines: start, frames, done', async () => {
    await withTempDir(async (dir) => {
      const frames = join(dir, 'frames');
      await mkdir(frames);
      await mixedFolder(frames);
      const bundle = await makeClassifierBundle(dir);
      const keyFile = join(dir, 'key.pub');
      await writeFile(keyFile, testKeys().publicKeyPem);
      const lines: string[] = [];
      const errors: string[] = [];
      const summary = await runCommand(
        { bundle, source: frames, trust: [keyFile], json: true, profile: 'x86-64-cpu', spoolDir: join(dir, 'spool') },
        { stdout: (l) => lines.push(l), stderr: (l) => errors.push(l) },
      );
      const records = lines.map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
      assert.equal(records[0].type, 'start');
      assert.equal((records[0] as { provider?: string }).provider, 'cpu');
      assert.equal(records.filter((r) => r.type === 'frame').length, 9);
      assert.equal(records.at(-1)?.type, 'done');
      assert.equal(summary.frames, 6);
      assert.equal(summary.skipped.decode + summary.skipped.empty, 3);

      const text: string[] = [];
      await runCommand({ bundle, source: join(frames, 'f1.png'), trust: [keyFile] }, { stdout: (l) => text.push(l), stderr: () => undefined });
      assert.match(text[0], /^loaded toy-classifier v1 \(classification\) on cpu; health check 2 golden sample\(s\)/);
      assert.match(text[1], /^#0 .*f1\.png: (cat|dog|bird|fish|frog) \d+\.\d% \(\d+\.\d ms\)$/);
      assert.match(text.at(-1)!, /^done: 1 frames/);

      await assert.rejects(runCommand({ bundle, source: frames }, { stdout: () => undefined, stderr: () => undefined }), RunConfigError);
    });
  });
});
