import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { makeClassifierBundle, testImage, testTrust, withTempDir } from './bundles.test.helpers.js';
import { HealthCheckError, HotSwapError } from './errors.js';
import { HotSwapEngine, type SwapEvent } from './hot-swap.js';

void describe('HotSwapEngine', () => {
  void it('switches between two frames while frames keep flowing: none lost, in-flight ones finish on the old model', async () => {
    await withTempDir(async (dir) => {
      const v1 = await makeClassifierBundle(dir, { version: 1 });
      const v2 = await makeClassifierBundle(dir, { version: 2 });
      const engine = await HotSwapEngine.open({ bundle: v1, trust: testTrust(), warmUpRuns: 0 });
      const swaps: SwapEvent[] = [];
      engine.on('swap', (e) => swaps.push(e));
      const image = await testImage(2);
      const versions: number[] = [];
      let sent = 0;
      let stop = false;
      // A camera loop with up to 3 frames in flight at once.
      const lanes = [0, 1, 2].map(async () => {
        while (!stop) {
          sent++;
          const result = await engine.infer(image);
          versions.push(result.model.version);
        }
      });
      while (versions.length < 20) await new Promise((r) => setTimeout(r, 1));
      const oldEngine = engine.current;
      const event = await engine.swap(v2);
      const atSwap = versions.length;
      while (versions.length < atSwap + 20) await new Promise((r) => setTimeout(r, 1));
      stop = true;
      await Promise.all(lanes);

      assert.equal(versions.length, sent, 'every frame sent got a result');
      assert.equal(event.from.version, 1);
      assert.equal(event.to.version, 2);
      assert.equal(event.health.samples, 2);
      assert.equal(swaps.length, 1);
      // Results arrive as v1... then v2...; at most the frames in flight at the switch finish on v1 after it.
      const firstV2 = versions.indexOf(2);
      assert.ok(firstV2 > 0);
      assert.ok(versions.slice(firstV2 + 3).every((v) => v === 2), `versions after the switch: ${versions.slice(firstV2).join(',')}`);
      assert.equal(engine.previous, oldEngine, 'old engine kept for rollback');
      assert.equal(oldEngine.closed, false);

      const rolled = await engine.rollback();
      assert.deepEqual([rolled.from.version, rolled.to.version], [2, 1]);
      assert.equal((await engine.infer(image)).model.version, 1);
      const tensor = { dtype: 'float32' as const, dims: engine.current.preprocessor.dims, data: new Float32Array(engine.current.preprocessor.elementCount) };
      assert.equal((await engine.inferTensor(tensor)).model.version, 1, 'inferTensor goes to the current engine too');
      await assert.rejects(engine.rollback(), HotSwapError);
      await engine.release();
    });
  });

  void it('keeps running the current model when the new bundle fails its health check', async () => {
    await withTempDir(async (dir) => {
      const engine = await HotSwapEngine.open({ bundle: await makeClassifierBundle(dir, { version: 1 }), trust: testTrust(), warmUpRuns: 0 });
      try {
        const bad = await makeClassifierBundle(dir, { version: 2, goldenOffset: 1 });
        await assert.rejects(engine.swap(bad), HealthCheckError);
        assert.equal(engine.manifest.version, 1);
        assert.equal(engine.previous, undefined);
        assert.equal((await engine.infer(await testImage(0))).model.version, 1);
      } finally {
        await engine.release();
      }
    });
  });

  void it('frees the replaced engine once its frames finish when keepPrevious is false', async () => {
    await withTempDir(async (dir) => {
      const engine = await HotSwapEngine.open({ bundle: await makeClassifierBundle(dir, { version: 1 }), trust: testTrust(), warmUpRuns: 0 }, { keepPrevious: false });
      try {
        const old = engine.current;
        const inFlight = engine.infer(await testImage(0));
        await engine.swap(await makeClassifierBundle(dir, { version: 2 }));
        assert.equal((await inFlight).model.version, 1);
        assert.equal(old.closed, true);
        assert.equal(engine.previous, undefined);
      } finally {
        await engine.release();
      }
    });
  });
});
