import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import * as ortNode from 'onnxruntime-node';

import type { RuntimeTensor } from '../backend.js';
import { InferenceError, InputShapeError } from '../errors.js';
import { classifierFixture } from '../fixtures.js';
import { OrtSessionAdapter, type OrtModule } from './ort-session.js';
import { createWebBackend } from './web.js';

const model = readFileSync(classifierFixture().modelPath);

function randomFeeds(seed: number): Record<string, RuntimeTensor> {
  const data = new Float32Array(3 * 8 * 8);
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = (seed / 2147483648) * 4 - 2;
  }
  return { image: { dtype: 'float32', dims: [1, 3, 8, 8], data } };
}

/** Runs the same onnxruntime session through its handler and through InferenceSession.run: the outputs must be identical. */
async function assertSameBothWays(ort: OrtModule, session: ortNode.InferenceSession): Promise<void> {
  const direct = new OrtSessionAdapter(ort, session, 'cpu', []);
  const viaRun = new OrtSessionAdapter(ort, session, 'cpu', [], { direct: false });
  assert.equal(direct.direct, true, 'onnxruntime-common exposes the session handler');
  assert.equal(viaRun.direct, false);
  for (let trial = 0; trial < 4; trial++) {
    const feeds = randomFeeds(trial + 1);
    const a = await direct.run(feeds);
    const b = await viaRun.run(feeds);
    assert.deepEqual(Object.keys(a).sort(), ['logits', 'probs']);
    for (const name of Object.keys(a)) {
      assert.equal(a[name].dtype, b[name].dtype);
      assert.deepEqual([...a[name].dims], [...b[name].dims]);
      assert.deepEqual(a[name].data, b[name].data, `${name}, trial ${trial}`);
    }
  }
  // Both ways validate the feeds the same (once per feeds object) and map engine failures the same.
  const wrong = { image: { dtype: 'float32' as const, dims: [1, 3, 4, 4], data: new Float32Array(48) } };
  await assert.rejects(direct.run(wrong), InputShapeError);
  await assert.rejects(viaRun.run(wrong), InputShapeError);
}

void describe('OrtSessionAdapter', () => {
  void it('gives identical outputs through the session handler and through InferenceSession.run (onnxruntime-node)', async () => {
    const session = await ortNode.InferenceSession.create(model);
    try {
      await assertSameBothWays(ortNode, session);
    } finally {
      await session.release();
    }
  });

  void it('gives identical outputs through the session handler and through InferenceSession.run (onnxruntime-web)', async () => {
    // The backend sets onnxruntime-web's environment up; its first session does that once.
    const backend = await createWebBackend({ numThreads: 1 });
    await (await backend.createSession(model, { providers: ['wasm'] })).release();
    const ortWeb = (await import('onnxruntime-web')) as unknown as OrtModule;
    const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'] });
    try {
      await assertSameBothWays(ortWeb, session);
    } finally {
      await session.release();
    }
  });

  void it('turns a failed run into InferenceError, and release does not wait for it', async () => {
    const session = await ortNode.InferenceSession.create(model);
    const adapter = new OrtSessionAdapter(ortNode, session, 'cpu', []);
    // onnxruntime failing mid-run (out of memory, a provider error) cannot be caused on demand
    // with a valid model and validated feeds, so the handler is made to fail once.
    const handler = (session as unknown as { handler: { run: (...args: unknown[]) => Promise<unknown> } }).handler;
    const run = handler.run.bind(handler);
    handler.run = () => Promise.reject(new Error('device lost'));
    await assert.rejects(adapter.run(randomFeeds(7)), (error: unknown) => error instanceof InferenceError && /device lost/.test(error.message));
    handler.run = run;
    assert.equal((await adapter.run(randomFeeds(7))).probs.data.length, 5, 'the next run works');
    await adapter.release();
  });
});
