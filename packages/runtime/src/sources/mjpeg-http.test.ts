import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';

import { testImage } from '../bundles.test.helpers.js';
import { SourceError } from '../errors.js';
import type { Frame } from './frame.js';
import { LatestFrameSource } from './latest.js';
import { MjpegHttpSource } from './mjpeg-http.js';
import { withRestart, type RestartInfo } from './restart.js';

interface Camera {
  url: string;
  connections: number;
  close(): Promise<void>;
}

/**
 * A local MJPEG camera: each connection gets `framesPerConnection` parts (then the server hangs
 * up, like a camera that disappears), `intervalMs` apart. `withLength` toggles Content-Length.
 */
async function startCamera(jpegs: Buffer[], options: { framesPerConnection: number; intervalMs: number; withLength?: boolean; status?: number }): Promise<Camera> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    connections++;
    if (options.status !== undefined) {
      res.writeHead(options.status).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=edgeloopframe', 'cache-control': 'no-cache' });
    let sent = 0;
    const timer = setInterval(() => {
      const jpeg = jpegs[sent % jpegs.length];
      const length = options.withLength === false ? '' : `Content-Length: ${jpeg.length}\r\n`;
      res.write(`--edgeloopframe\r\nContent-Type: image/jpeg\r\n${length}\r\n`);
      res.write(jpeg);
      sent++;
      if (sent >= options.framesPerConnection) {
        clearInterval(timer);
        // The camera vanishes mid-stream (no closing boundary) once what it sent is on the wire.
        res.write('\r\n', () => res.socket?.destroy());
      } else {
        res.write('\r\n');
      }
    }, options.intervalMs);
    req.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/stream`,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

void describe('MjpegHttpSource', () => {
  void it('reads JPEG parts from a multipart/x-mixed-replace stream, with or without Content-Length', async () => {
    const jpegs = [await testImage(1, 'jpeg'), await testImage(2, 'jpeg')];
    for (const withLength of [true, false]) {
      const camera = await startCamera(jpegs, { framesPerConnection: 5, intervalMs: 2, withLength });
      try {
        const source = new MjpegHttpSource({ url: camera.url });
        const frames: Frame[] = [];
        await assert.rejects(
          (async () => {
            for await (const frame of source) frames.push(frame);
          })(),
          (error: unknown) => error instanceof SourceError && error.retryable && /ended|failed/.test(error.message),
        );
        assert.ok(frames.length >= 4, `got ${frames.length} frames`);
        assert.deepEqual(Buffer.from(frames[0].data), jpegs[0]);
        assert.deepEqual(Buffer.from(frames[1].data), jpegs[1]);
        assert.equal(frames[0].format, 'jpeg');
      } finally {
        await camera.close();
      }
    }
  });

  void it('reconnects with backoff when the camera disappears, keeping sequence numbers running', async () => {
    const camera = await startCamera([await testImage(1, 'jpeg')], { framesPerConnection: 3, intervalMs: 2 });
    const restarts: RestartInfo[] = [];
    const source = withRestart(() => new MjpegHttpSource({ url: camera.url }), {
      backoff: { baseMs: 20, maxMs: 100, jitter: 0 },
      onRestart: (info) => restarts.push(info),
    });
    try {
      const frames: Frame[] = [];
      for await (const frame of source) {
        frames.push(frame);
        if (frames.length === 8) break;
      }
      assert.deepEqual(frames.map((f) => f.seq), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.ok(camera.connections >= 3, `${camera.connections} connections`);
      assert.ok(restarts.length >= 2);
      // Each reconnect follows a success, so the backoff restarts from its base each time.
      assert.ok(restarts.every((r) => r.delayMs === 20 && r.attempt === 1), JSON.stringify(restarts.map((r) => r.delayMs)));
      assert.ok(source.stats.restarts >= 2);
    } finally {
      await source.close();
      await camera.close();
    }
  });

  void it('backs off exponentially while the camera stays down, and does not retry a 404', async () => {
    const down = await startCamera([], { framesPerConnection: 0, intervalMs: 1, status: 503 });
    const delays: number[] = [];
    const source = withRestart(() => new MjpegHttpSource({ url: down.url }), {
      backoff: { baseMs: 5, maxMs: 40, jitter: 0 },
      maxAttempts: 5,
      onRestart: (info) => delays.push(info.delayMs),
    });
    try {
      await assert.rejects(
        (async () => {
          for await (const _ of source) assert.fail('no frames expected');
        })(),
        /gave up after 5 restarts: .*HTTP 503/,
      );
      assert.deepEqual(delays, [5, 10, 20, 40, 40]);
      assert.equal(down.connections, 6);
    } finally {
      await down.close();
    }
    const missing = await startCamera([], { framesPerConnection: 0, intervalMs: 1, status: 404 });
    try {
      const source404 = withRestart(() => new MjpegHttpSource({ url: missing.url }), { backoff: { baseMs: 1 } });
      await assert.rejects(
        (async () => {
          for await (const _ of source404) assert.fail('no frames expected');
        })(),
        (error: unknown) => error instanceof SourceError && !error.retryable && /HTTP 404/.test(error.message),
      );
      assert.equal(missing.connections, 1);
    } finally {
      await missing.close();
    }
  });

  void it('hands a slow consumer the newest frame and counts the ones it skipped', async () => {
    const jpegs = [await testImage(1, 'jpeg'), await testImage(2, 'jpeg')];
    const camera = await startCamera(jpegs, { framesPerConnection: 1000, intervalMs: 2 });
    const source = new LatestFrameSource(new MjpegHttpSource({ url: camera.url }));
    try {
      const seqs: number[] = [];
      for await (const frame of source) {
        seqs.push(frame.seq);
        await new Promise((r) => setTimeout(r, 25)); // inference slower than the camera
        if (seqs.length === 6) break;
      }
      assert.ok(source.stats.dropped > 0, 'frames were dropped');
      assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `seqs ${seqs.join(',')}`);
      assert.ok(seqs[5] - seqs[0] > 5, `seqs ${seqs.join(',')} skip ahead`);
      assert.equal(source.stats.received - source.stats.dropped >= seqs.length, true);
    } finally {
      await source.close();
      await camera.close();
    }
  });
});
