// RuntimeModelHost on the real runtime (onnxruntime, the digits bundle from bundleModel): stage
// refuses with the runtime's reason, activation swaps under a running Runner without losing a
// frame, and the watch window rolls back a model over its latency budget.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { TrustStore, generateKeyPair } from '@edgeloop/bundle';
import { bundleModel } from '@edgeloop/compiler';
import { RuntimeModelHost, isOtaError } from '@edgeloop/ota';
import type { WatchReport } from '@edgeloop/ota';
import { FolderSource, Runner } from '@edgeloop/runtime';
import type { FrameOutcome } from '@edgeloop/runtime';
import sharp from 'sharp';

import { tempDir } from './ota-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIGITS = join(ROOT, 'examples/models/digits-cnn.onnx');

describe('RuntimeModelHost (real runtime)', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  const keys = generateKeyPair();
  const trust = TrustStore.fromPems([keys.publicKeyPem]);
  const paths: Record<string, string> = {};
  let frames: string;

  before(async () => {
    root = await tempDir('runtime-host');
    const make = async (name: string, version: number, privateKeyPem: string, latencyBudgetMs?: number): Promise<void> => {
      paths[name] = join(root.path, `${name}.elb`);
      await bundleModel({ model: DIGITS, outPath: paths[name], privateKeyPem, version, targetProfile: 'raspberry-pi-4', goldenCount: 1, ...(latencyBudgetMs !== undefined ? { latencyBudgetMs } : {}) });
    };
    await make('v1', 1, keys.privateKeyPem, 1000);
    await make('v2', 2, keys.privateKeyPem, 1000);
    await make('v3-slow', 3, keys.privateKeyPem, 0.001);
    await make('untrusted', 4, generateKeyPair().privateKeyPem);
    frames = join(root.path, 'frames');
    await mkdir(frames);
    for (let k = 0; k < 6; k++) {
      const raw = Buffer.alloc(28 * 28, k * 20);
      await writeFile(join(frames, `f${k}.png`), await sharp(raw, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
    }
  });
  after(async () => {
    await root.remove();
  });

  it('refuses to stage a bundle the runtime will not open, with the reason', async () => {
    const host = new RuntimeModelHost({ trust, profile: 'raspberry-pi-4' });
    try {
      const report = await host.stage(paths.untrusted);
      assert.equal(report.ok, false);
      assert.equal(report.checks[0].name, 'engine.open');
      assert.match(report.checks[0].detail ?? '', /key|sign|trust/i);
      const good = await host.stage(paths.v1);
      assert.equal(good.ok, true);
      assert.ok(good.checks.some((c) => c.name.startsWith('golden[0].')), JSON.stringify(good.checks));
    } finally {
      await host.close();
    }
  });

  it('activates under a running loop with no lost frame, then rolls back when the watch window sees latency over budget', async () => {
    const host = new RuntimeModelHost({ trust, profile: 'raspberry-pi-4', watch: { frames: 5, ms: 20_000 } });
    const reports: WatchReport[] = [];
    host.on('watch', (r) => reports.push(r));
    await host.load(paths.v1);
    const outcomes: FrameOutcome[] = [];
    const controller = new AbortController();
    const runner = new Runner({ engine: host, source: new FolderSource({ path: frames, loop: true, fps: 100 }), onFrame: (o) => outcomes.push(o), signal: controller.signal, summaryIntervalMs: 0 });
    const running = runner.run();
    try {
      while (outcomes.length < 5) await new Promise((r) => setTimeout(r, 10));
      assert.equal((await host.stage(paths.v2)).ok, true);
      await host.activate();
      assert.equal(reports.at(-1)?.ok, true);
      assert.equal(reports.at(-1)?.model.version, 2);
      assert.ok((reports.at(-1)?.frames ?? 0) >= 5);
      assert.equal(host.manifest.version, 2);

      assert.equal((await host.stage(paths['v3-slow'])).ok, true);
      await assert.rejects(host.activate(), (error: unknown) => isOtaError(error, 'WATCH_FAILED') && /latency budget of 0\.001 ms/.test((error as Error).message));
      assert.equal(host.manifest.version, 2, 'serving v2 again');
      const failed = reports.at(-1)!;
      assert.equal(failed.ok, false);
      assert.equal(failed.latencyBudgetMs, 0.001);
      const seen = outcomes.length;
      while (outcomes.length < seen + 3) await new Promise((r) => setTimeout(r, 10));
    } finally {
      controller.abort();
      const summary = await running;
      await host.close();
      // Every frame the source delivered was inferred: none skipped across two swaps and a rollback.
      assert.equal(summary.skipped.inference + summary.skipped.decode + summary.skipped.empty, 0, JSON.stringify(summary.skipped));
      assert.equal(outcomes.filter((o) => o.status !== 'ok').length, 0);
      const versions = outcomes.map((o) => (o.status === 'ok' ? o.result.model.version : -1));
      assert.ok(versions.includes(1) && versions.includes(2) && versions.includes(3), `frames ran on v1, v2 and (briefly) v3: ${versions.join(',')}`);
      assert.equal(versions.at(-1), 2);
    }
  });
});
