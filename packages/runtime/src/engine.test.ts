import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TrustStore, UntrustedKeyError, generateKeyPair, openBundle } from '@edgeloop/bundle';

import { CLASSIFIER_LABELS, makeClassifierBundle, testImage, testTrust, withTempDir } from './bundles.test.helpers.js';
import { Engine } from './engine.js';
import { EngineClosedError, HealthCheckError, ImageDecodeError, InputDtypeError, InputShapeError, UnsupportedModelError } from './errors.js';
import { classify } from './postprocess/classification.js';
import { Preprocessor } from './preprocess.js';

void describe('Engine', () => {
  void it('opens a signed bundle, health-checks it and classifies frames like a bare session run', async () => {
    await withTempDir(async (dir) => {
      const path = await makeClassifierBundle(dir);
      const engine = await Engine.open({ bundle: path, trust: testTrust(), profile: 'x86-64-cpu', warmUpRuns: 2 });
      try {
        assert.equal(engine.provider, 'cpu');
        assert.equal(engine.health.samples, 2);
        assert.equal(engine.health.checks.length, 4);
        for (const check of engine.health.checks) assert.ok(check.maxAbsDiff <= 1e-6, `${check.output}: ${check.maxAbsDiff}`);
        assert.equal(engine.warmUp?.runs, 2);

        const image = await testImage(3);
        const result = await engine.infer(image);
        assert.equal(result.prediction.task, 'classification');
        if (result.prediction.task !== 'classification') return;
        // The same frame through a fresh Preprocessor and the session directly.
        const pre = await new Preprocessor(engine.imageInput.preprocessing!).run(image);
        const bare = await engine.session.run({ image: pre.tensor });
        const expected = classify(bare.logits, { labels: CLASSIFIER_LABELS, outputKind: 'logits' });
        assert.equal(result.prediction.classIndex, expected.top[0].index);
        assert.equal(result.prediction.label, CLASSIFIER_LABELS[expected.top[0].index]);
        assert.ok(Math.abs(result.prediction.score - expected.top[0].score) < 1e-6);
        assert.deepEqual(result.model, { name: 'toy-classifier', version: 1 });
        const { preprocess, inference, postprocess, total } = result.latencyMs;
        assert.ok(preprocess >= 0 && inference >= 0 && postprocess >= 0);
        assert.ok(total >= preprocess + inference + postprocess - 1e-6);
      } finally {
        await engine.release();
      }
    });
  });

  void it('reuses one input buffer for sequential frames and a second one for overlapping frames', async () => {
    await withTempDir(async (dir) => {
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 0 });
      try {
        const seen: unknown[] = [];
        const image = await testImage(1);
        for (let i = 0; i < 3; i++) await engine.infer(image, { onInput: (t) => seen.push(t.data.buffer) });
        assert.equal(new Set(seen).size, 1, 'sequential frames share one buffer');
        seen.length = 0;
        await Promise.all([0, 1].map(() => engine.infer(image, { onInput: (t) => seen.push(t.data.buffer) })));
        assert.equal(new Set(seen).size, 2, 'overlapping frames never share a buffer');
      } finally {
        await engine.release();
      }
    });
  });

  void it('refuses a bundle whose golden outputs disagree, naming the output and the max abs diff', async () => {
    await withTempDir(async (dir) => {
      const path = await makeClassifierBundle(dir, { goldenOffset: 0.05 });
      await assert.rejects(Engine.open({ bundle: path, trust: testTrust(), warmUpRuns: 0 }), (error: unknown) => {
        assert.ok(error instanceof HealthCheckError);
        assert.equal(error.code, 'HEALTH_CHECK');
        assert.match(error.message, /output 'logits' max abs diff 0\.05/);
        assert.ok(error.mismatches.some((m) => m.output === 'probs' && m.kind === 'tolerance'));
        assert.ok(error.mismatches.every((m) => Math.abs(m.maxAbsDiff - 0.05) < 1e-3));
        return true;
      });
    });
  });

  void it('refuses a bundle whose golden run produces NaN', async () => {
    await withTempDir(async (dir) => {
      const path = await makeClassifierBundle(dir, { nanInput: true, goldenCount: 1 });
      await assert.rejects(Engine.open({ bundle: path, trust: testTrust(), warmUpRuns: 0 }), (error: unknown) => {
        assert.ok(error instanceof HealthCheckError);
        assert.equal(error.mismatches[0].kind, 'nan');
        assert.match(error.message, /produced NaN at index 0/);
        return true;
      });
    });
  });

  void it('refuses a bundle signed by an untrusted key before creating a session', async () => {
    await withTempDir(async (dir) => {
      const path = await makeClassifierBundle(dir);
      const stranger = TrustStore.fromPems([generateKeyPair().publicKeyPem]);
      await assert.rejects(Engine.open({ bundle: path, trust: stranger }), UntrustedKeyError);
      await assert.rejects(Engine.open({ bundle: path }), UnsupportedModelError);
    });
  });

  void it('records provider fallbacks from the profile order and counts corrupt frames as decode errors', async () => {
    await withTempDir(async (dir) => {
      const bundle = await openBundle(await makeClassifierBundle(dir), { trust: testTrust() });
      const engine = await Engine.open({ bundle, providers: ['tensorrt', 'cuda', 'cpu'], warmUpRuns: 0, healthCheck: false });
      try {
        assert.equal(engine.health.samples, 0);
        if (engine.provider === 'cpu') assert.deepEqual(engine.fallbacks.map((f) => f.provider), ['tensorrt', 'cuda']);
        const jpeg = await testImage(0, 'jpeg');
        await assert.rejects(engine.infer(jpeg.subarray(0, 40)), ImageDecodeError);
        await assert.rejects(engine.infer(new Uint8Array(0)), ImageDecodeError);
        const ok = await engine.infer(jpeg);
        assert.equal(ok.prediction.task, 'classification');
      } finally {
        await engine.release();
      }
      await assert.rejects(engine.infer(await testImage(0)), /closed/);
    });
  });

  void it('falls back to onnxruntime-web (WASM) for a profile that lists only wasm, and passes the golden check there', async () => {
    await withTempDir(async (dir) => {
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), profile: 'browser-wasm', warmUpRuns: 1 });
      try {
        assert.equal(engine.provider, 'wasm');
        assert.equal(engine.health.samples, 2);
        assert.ok(engine.health.checks.every((c) => c.maxAbsDiff < 1e-4));
        assert.equal((await engine.infer(await testImage(1))).provider, 'wasm');
      } finally {
        await engine.release();
      }
    });
  });

  void it('overlapping infer calls: decodes at once, runs the session one frame at a time in acceptance order', async () => {
    await withTempDir(async (dir) => {
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 0 });
      try {
        // Watch the session: which frame each run gets (first input value) and how many overlap.
        const session = engine.session as { run: Engine['session']['run'] };
        const run = session.run.bind(engine.session);
        const order: number[] = [];
        let active = 0;
        let maxActive = 0;
        session.run = async (feeds) => {
          order.push(feeds.image.data[0] as number);
          maxActive = Math.max(maxActive, ++active);
          try {
            return await run(feeds);
          } finally {
            active--;
          }
        };
        // Frame 0 needs sharp (a large JPEG); frame 1 is garbage; frames 2 and 3 are raw frames at
        // the model size whose preprocessing finishes at once, long before frame 0's decode.
        const raw = (value: number) => ({ data: new Uint8Array(8 * 8 * 3).fill(value), width: 8, height: 8, channels: 3 as const });
        const jpeg = await testImage(1, 'jpeg', 1600, 1200);
        const pending = [engine.infer(jpeg), engine.infer(Buffer.from('not an image')), engine.infer(raw(51)), engine.infer(raw(102))];
        assert.equal(engine.inFlight, 4);
        const settled = await Promise.allSettled(pending);
        assert.equal(settled[0].status, 'fulfilled');
        assert.ok(settled[1].status === 'rejected' && settled[1].reason instanceof ImageDecodeError);
        assert.ok(settled[2].status === 'fulfilled' && settled[3].status === 'fulfilled');
        assert.equal(maxActive, 1, 'one session run at a time');
        assert.equal(order.length, 3);
        assert.deepEqual(order.slice(1), [0.2, 0.4].map(Math.fround), 'raw frames ran after the JPEG accepted before them, in order');
        assert.equal(engine.inFlight, 0);
        // The same result as one call at a time.
        const alone = await engine.infer(raw(51));
        assert.ok(settled[2].status === 'fulfilled' && settled[2].value.prediction.task === 'classification' && alone.prediction.task === 'classification');
        assert.equal(settled[2].value.prediction.score, alone.prediction.score);
        const queued = (settled[3] as PromiseFulfilledResult<Awaited<ReturnType<Engine['infer']>>>).value.latencyMs.queued;
        assert.ok(queued > 0, 'frame 3 waited behind frame 0');
        assert.equal(alone.latencyMs.queued >= 0, true);
      } finally {
        await engine.release();
      }
    });
  });

  void it('inferTensor: a caller-made input tensor gives the same result as the frame it came from, in turn with frames', async () => {
    await withTempDir(async (dir) => {
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 0 });
      try {
        const frame = { data: new Uint8Array(8 * 8 * 3).map((_, i) => (i * 37) % 256), width: 8, height: 8, channels: 3 as const };
        const tensor = (await new Preprocessor(engine.imageInput.preprocessing!).run(frame)).tensor;
        const [fromFrame, fromTensor, again] = await Promise.all([engine.infer(frame), engine.inferTensor(tensor), engine.inferTensor(tensor)]);
        assert.ok(fromFrame.prediction.task === 'classification' && fromTensor.prediction.task === 'classification' && again.prediction.task === 'classification');
        assert.equal(fromTensor.prediction.classIndex, fromFrame.prediction.classIndex);
        assert.equal(fromTensor.prediction.score, fromFrame.prediction.score);
        assert.deepEqual(fromTensor.outputs.logits.data, fromFrame.outputs.logits.data);
        assert.deepEqual(fromTensor.transform, { srcWidth: 8, srcHeight: 8, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 });
        assert.equal(again.prediction.score, fromTensor.prediction.score);
        // The tensor is read at run time, not copied: refilled in place, it gives the new frame's result.
        const other = { ...frame, data: frame.data.map((v) => 255 - v) };
        (tensor.data as Float32Array).set((await new Preprocessor(engine.imageInput.preprocessing!).run(other)).tensor.data as Float32Array);
        const refilled = await engine.inferTensor(tensor);
        assert.deepEqual(refilled.outputs.logits.data, (await engine.infer(other)).outputs.logits.data);
        let seen: unknown;
        await engine.inferTensor(tensor, { onInput: (t) => (seen = t) });
        assert.equal(seen, tensor, 'onInput sees the caller tensor');
        assert.equal(engine.inFlight, 0);
      } finally {
        await engine.release();
      }
    });
  });

  void it('inferTensor refuses a tensor of the wrong dtype, shape or length, and after release', async () => {
    await withTempDir(async (dir) => {
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), warmUpRuns: 0 });
      await assert.rejects(engine.inferTensor({ dtype: 'uint8', dims: [1, 3, 8, 8], data: new Uint8Array(192) }), InputDtypeError);
      await assert.rejects(engine.inferTensor({ dtype: 'float32', dims: [1, 3, 4, 4], data: new Float32Array(48) }), InputShapeError);
      await assert.rejects(engine.inferTensor({ dtype: 'float32', dims: [1, 3, 8, 8], data: new Float32Array(10) }), (error: unknown) => error instanceof InputShapeError && /10 elements/.test(error.message));
      assert.equal(engine.inFlight, 0);
      // Refused tensors leave the turn order intact: a good tensor still runs.
      const ok = await engine.inferTensor({ dtype: 'float32', dims: [1, 3, 8, 8], data: new Float32Array(192) });
      assert.equal(ok.prediction.task, 'classification');
      await engine.release();
      await assert.rejects(engine.inferTensor({ dtype: 'float32', dims: [1, 3, 8, 8], data: new Float32Array(192) }), EngineClosedError);
    });
  });
});
