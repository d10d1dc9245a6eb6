// Crash safety at random points (docs/ota-protocol.md §install): the agent, serving with the real
// runtime (RuntimeModelHost, onnxruntime, the digits model bundled by the compiler), is killed
// with SIGKILL at 20 seeded-random points of successive installs: inside the download, after it,
// after verify, during stage + health check, and inside activation (the watch window). After every
// kill the active slot names the old or the new bundle, intact (file sha256 = slot.json = a bundle
// the server published; the signature verifies); the restarted agent serves that model and
// inference runs; and the install then converges (activated, or rolled back when the kill landed
// inside activation). Seed: EDGELOOP_CRASH_SEED, else random (printed).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { openBundle } from '@edgeloop/bundle';
import { bundleModel, seededRandom } from '@edgeloop/compiler';
import { provisionDevice } from '@edgeloop/ota';
import sharp from 'sharp';

import { AgentProcess } from './ota-agent-process.js';
import type { Line } from './ota-agent-process.js';
import { startFleet, until } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIGITS = join(ROOT, 'examples/models/digits-cnn.onnx');
const DEVICE = 'dev-random';
const KILLS = 20;
const WATCH_MS = 300;
const CHUNK_BYTES = 4096;

type KillPoint =
  | { kind: 'download'; atChunk: number; delayMs: number }
  | { kind: 'downloaded' | 'verified' | 'staged' | 'healthy'; delayMs: number };

describe('ota crash safety at random points (SIGKILL, real runtime)', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(async () => {
    await fleet.close();
  });

  it(`keeps the old or the new model, intact and serving, across ${KILLS} kills at random points`, { timeout: 600_000 }, async () => {
    const started = Date.now();
    const seed = Number(process.env.EDGELOOP_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`# crash-random seed ${seed} (EDGELOOP_CRASH_SEED=${seed} replays it)`);
    const random = seededRandom(seed);
    const { password } = await provisionDevice(fleet.serverDir, DEVICE);
    const dataDir = join(fleet.root, 'random-device');
    const image = join(fleet.root, 'digit.png');
    await writeFile(image, await sharp(Buffer.alloc(28 * 28, 90), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
    const config = { url: fleet.broker.url, deviceId: DEVICE, password, dataDir, trustPem: fleet.key.publicKeyPem, window: 4, host: 'runtime', inferImage: image, watchMs: WATCH_MS };

    const published = new Map<string, number>(); // sha256 -> version
    let version = 0;
    const publish = async (): Promise<{ sha256: string; version: number; chunks: number }> => {
      version++;
      const path = join(fleet.root, `digits-v${version}.elb`);
      const created = await bundleModel({ model: DIGITS, outPath: path, privateKeyPem: fleet.key.privateKeyPem, version, targetProfile: 'raspberry-pi-4', goldenCount: 1, latencyBudgetMs: 10_000 });
      const record = await fleet.server.store.addBundle(path, { chunkBytes: CHUNK_BYTES });
      published.set(created.sha256, version);
      await fleet.server.assign(DEVICE, created.sha256);
      return { sha256: created.sha256, version, chunks: record.transfer.chunkSha256.length };
    };

    /** The active slot on disk: its bundle file hashes to slot.json's sha256, which the server published; the signature verifies. */
    const activeOnDisk = async (): Promise<{ sha256: string; version: number; trial: boolean }> => {
      const pointer = (await readFile(join(dataDir, 'active'), 'utf8')).trim();
      assert.ok(pointer === 'a' || pointer === 'b', `pointer ${JSON.stringify(pointer)}`);
      const slot = JSON.parse(await readFile(join(dataDir, pointer, 'slot.json'), 'utf8')) as { sha256: string; version: number };
      const bytes = await readFile(join(dataDir, pointer, 'bundle.elb'));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), slot.sha256, 'bundle file matches slot.json');
      assert.equal(published.get(slot.sha256), slot.version, 'a bundle the server published');
      const opened = await openBundle(join(dataDir, pointer, 'bundle.elb'), { trust: fleet.trust });
      assert.equal(opened.manifest.version, slot.version);
      const state = JSON.parse(await readFile(join(dataDir, 'state.json'), 'utf8')) as { trial: unknown };
      return { sha256: slot.sha256, version: slot.version, trial: state.trial !== null };
    };

    // v1 installed first, so every kill has an old model to fall back to.
    let target = await publish();
    let agent = new AgentProcess(config);
    await agent.waitFor((l) => l.type === 'event' && l.event.phase === 'activated' && l.event.version === 1, 120_000);
    let old = (await activeOnDisk()).sha256;
    let predicted: number | undefined;

    // 20 points, four of each kind, shuffled; chunk indices and delays drawn per point.
    const kinds = ['download', 'downloaded', 'verified', 'staged', 'healthy'] as const;
    const deck = Array.from({ length: KILLS }, (_, i) => kinds[i % kinds.length]);
    for (let i = deck.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deck[i], deck[j]] = [deck[j], deck[i]];
    }
    const outcomes = { old: 0, new: 0, rolledBack: 0 };
    const log: string[] = [];
    for (const [n, kind] of deck.entries()) {
      target = await publish();
      // staged → kill during the health check (engine open + golden run); healthy → inside
      // activation (swap + watch window) or just after it.
      const delayMs = Math.floor(random() * (kind === 'healthy' ? WATCH_MS + 100 : kind === 'staged' ? 150 : 40));
      const point: KillPoint = kind === 'download' ? { kind, atChunk: 1 + Math.floor(random() * (target.chunks - 1)), delayMs } : { kind, delayMs };
      const from = agent.lines.length;
      const isTrigger = (line: Line, index: number): boolean => {
        if (index < from) return false;
        if (point.kind === 'download') return line.type === 'progress' && line.verified >= point.atChunk;
        return line.type === 'event' && line.event.phase === point.kind && line.event.version === target.version;
      };
      await agent.waitFor((line) => isTrigger(line, agent.lines.indexOf(line)), 120_000);
      if (point.delayMs > 0) await new Promise((r) => setTimeout(r, point.delayMs));
      await agent.kill();

      // On disk right after the kill: old or new, intact.
      const killed = await activeOnDisk();
      assert.ok(killed.sha256 === old || killed.sha256 === target.sha256, `kill ${n + 1}: active v${killed.version} is neither old nor new`);

      // Restart: the model it serves is the one on disk (after rolling back an interrupted
      // activation), and inference runs on it.
      agent = new AgentProcess(config);
      const startedLine = (await agent.waitFor((l) => l.type === 'started', 60_000)) as { serving: number | null };
      const inferred = (await agent.waitFor((l) => l.type === 'inferred', 60_000)) as Extract<Line, { type: 'inferred' }>;
      const rolledBack = agent.lines.some((l) => l.type === 'event' && l.event.phase === 'rolled-back');
      const expectedServing = killed.trial ? published.get(old) : killed.version;
      assert.equal(startedLine.serving, expectedServing, `kill ${n + 1}: serving after restart`);
      assert.equal(inferred.version, expectedServing);
      assert.ok(Number.isInteger(inferred.prediction.classIndex) && (inferred.prediction.score ?? NaN) >= 0, JSON.stringify(inferred.prediction));
      // Same model bytes in every version: the same image gets the same class.
      predicted ??= inferred.prediction.classIndex;
      assert.equal(inferred.prediction.classIndex, predicted);
      assert.equal(rolledBack, killed.trial, `kill ${n + 1}: rolled back exactly when a trial was recorded`);

      // The install converges: activated, or (after an interrupted activation) refused with the old model serving.
      await until(async () => rolledBack || agent.lines.some((l) => l.type === 'event' && l.event.phase === 'activated' && l.event.version === target.version) || (await activeOnDisk().then((a) => a.sha256 === target.sha256 && !a.trial, () => false)), 120_000, `kill ${n + 1}: install of v${target.version} settled`);
      const settled = await activeOnDisk();
      assert.equal(settled.trial, false);
      assert.equal(settled.sha256, rolledBack ? old : target.sha256);
      if (killed.sha256 === target.sha256) outcomes.new++;
      else outcomes.old++;
      if (rolledBack) outcomes.rolledBack++;
      log.push(`${point.kind}${point.kind === 'download' ? ` ${point.atChunk}/${target.chunks}` : ''}+${point.delayMs}ms → ${killed.sha256 === old ? 'old' : 'new'}${killed.trial ? ' (mid-activation, rolled back)' : ''}`);
      old = settled.sha256;
    }
    await agent.kill();
    const seconds = (Date.now() - started) / 1000;
    console.log(`# crash-random: ${KILLS} kills (seed ${seed}) in ${seconds.toFixed(1)} s: the active pointer named the old bundle ${outcomes.old} times and the new one ${outcomes.new} times, ${outcomes.rolledBack} interrupted activations were rolled back to the old one at restart; inference ran after every restart`);
    console.log(`#   ${log.join('; ')}`);
  });
});
