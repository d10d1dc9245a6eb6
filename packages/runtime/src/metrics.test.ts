import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RuntimeMetrics, serveMetrics } from './metrics.js';

void describe('RuntimeMetrics', () => {
  void it('computes latency percentiles, fps and counters for the JSON snapshot', () => {
    let now = 0;
    const metrics = new RuntimeMetrics({ now: () => now, fpsWindowMs: 10_000 });
    for (let i = 1; i <= 100; i++) {
      now += 50; // 20 fps
      metrics.recordFrame({ preprocess: 1, inference: i, postprocess: 0.5, total: i + 1.5 });
    }
    metrics.addDroppedFrames(7);
    metrics.recordDecodeError('empty');
    metrics.recordDecodeError('corrupt');
    metrics.recordSampleChosen();
    metrics.recordSampleRejected('rate-limit');
    metrics.recordSpool({ stored: true, evicted: 2 }, { count: 5, bytes: 1234 });
    metrics.setModel({ name: 'digits', version: 4, provider: 'cpu' });
    const snap = metrics.snapshot();
    assert.equal(snap.frames, 100);
    assert.equal(snap.latencyMs.inference.p50, 50);
    assert.equal(snap.latencyMs.inference.p95, 95);
    assert.equal(snap.latencyMs.inference.p99, 99);
    assert.equal(snap.latencyMs.total.max, 101.5);
    assert.ok(Math.abs(snap.fps - 20) < 1e-9, `fps ${snap.fps}`);
    assert.equal(snap.droppedFrames, 7);
    assert.equal(snap.decodeErrors, 2);
    assert.deepEqual(snap.samples, { chosen: 1, rejected: { 'rate-limit': 1 }, spoolEvicted: 2, spoolRejected: 0, spoolCount: 5, spoolBytes: 1234 });
    assert.deepEqual(snap.model, { name: 'digits', version: 4, provider: 'cpu' });
    assert.ok(snap.memory.rssBytes > 0);
    now += 20_000;
    assert.equal(metrics.fps(), 0, 'no frames in the window');
  });

  void it('serves Prometheus text and the JSON snapshot over HTTP on 127.0.0.1', async () => {
    const metrics = new RuntimeMetrics({ labels: { device: 'pi-7' } });
    metrics.recordFrame({ preprocess: 2, inference: 10, postprocess: 1, total: 13 });
    metrics.setModel({ name: 'digits', version: 4, provider: 'cpu' });
    const server = await serveMetrics(metrics);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(text, /^edgeloop_frames_total\{device="pi-7"\} 1$/m);
      assert.match(text, /edgeloop_inference_latency_seconds_bucket\{le="0.01",device="pi-7",stage="inference"\} 1/);
      assert.match(text, /edgeloop_frame_latency_seconds\{quantile="0.99",device="pi-7"\} 0.013/);
      assert.match(text, /edgeloop_model_info\{model="digits",version="4",provider="cpu",device="pi-7"\} 1/);
      assert.match(text, /^edgeloop_resident_memory_bytes\{device="pi-7"\} \d{6,}$/m);
      const response = await fetch(`${server.url}/metrics`);
      assert.match(response.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
      await response.body?.cancel();
      const json = (await (await fetch(`${server.url}/metrics.json`)).json()) as { frames: number; latencyMs: { total: { p50: number } } };
      assert.equal(json.frames, 1);
      assert.equal(json.latencyMs.total.p50, 13);
      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    } finally {
      await server.close();
    }
  });
});
