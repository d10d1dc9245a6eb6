// The ffmpeg child-process path that V4L2 cameras and RTSP streams take, exercised on a video file
// generated here with ffmpeg's lavfi test source.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

import sharp from 'sharp';

import { withTempDir } from '../bundles.test.helpers.js';
import { SourceError } from '../errors.js';
import { FfmpegSource, ffmpegArgs } from './ffmpeg.js';
import type { Frame } from './frame.js';
import { openSource } from './open.js';
import { withRestart } from './restart.js';

const run = promisify(execFile);

async function makeVideo(dir: string, frames: number): Promise<string> {
  const path = join(dir, 'testsrc.mp4');
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=96x64:rate=25:duration=${frames / 25}`, '-c:v', 'mpeg4', '-q:v', '4', path]);
  return path;
}

void describe('FfmpegSource', () => {
  void it('splits ffmpeg MJPEG output into decodable frames with their sizes', async () => {
    await withTempDir(async (dir) => {
      const video = await makeVideo(dir, 20);
      const source = await openSource(video);
      assert.equal(source.live, false);
      const frames: Frame[] = [];
      for await (const frame of source) frames.push(frame);
      assert.equal(frames.length, 20);
      assert.deepEqual(frames.map((f) => f.seq), [...Array(20).keys()]);
      assert.deepEqual([frames[0].width, frames[0].height], [96, 64]);
      const decoded = await sharp(frames[19].data).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([decoded.info.width, decoded.info.height], [96, 64]);
      // testsrc changes over time: first and last frames differ.
      assert.notDeepEqual(Buffer.from(frames[0].data), Buffer.from(frames[19].data));
    });
  });

  void it('scales and caps the rate, kills ffmpeg when the consumer stops early', async () => {
    await withTempDir(async (dir) => {
      const video = await makeVideo(dir, 25);
      const source = new FfmpegSource({ kind: 'file', input: video, loop: true, width: 32, height: 24, fps: 10 });
      assert.equal(source.live, true);
      let pid: number | undefined;
      const frames: Frame[] = [];
      for await (const frame of source) {
        frames.push(frame);
        pid = source.pid;
        if (frames.length === 15) break;
      }
      assert.deepEqual([frames[0].width, frames[0].height], [32, 24]);
      assert.ok(pid !== undefined);
      await new Promise((r) => setTimeout(r, 100));
      assert.throws(() => process.kill(pid!, 0), /ESRCH/, 'ffmpeg is gone');
    });
  });

  void it('reports ffmpeg failures with its stderr, and restarts a failing stream with backoff', async () => {
    await withTempDir(async (dir) => {
      const missing = join(dir, 'nope.mp4');
      const source = new FfmpegSource({ kind: 'file', input: missing });
      await assert.rejects(
        (async () => {
          for await (const _ of source) assert.fail('no frames');
        })(),
        (error: unknown) => error instanceof SourceError && /ffmpeg exited with 1 after 0 frames: .*No such file/.test(error.message),
      );
      const delays: number[] = [];
      const restarting = withRestart(() => new FfmpegSource({ kind: 'rtsp', input: 'rtsp://127.0.0.1:1/none', timeoutMs: 500 }), {
        backoff: { baseMs: 10, jitter: 0 },
        maxAttempts: 2,
        onRestart: (info) => delays.push(info.delayMs),
      });
      await assert.rejects(
        (async () => {
          for await (const _ of restarting) assert.fail('no frames');
        })(),
        /gave up after 2 restarts/,
      );
      assert.deepEqual(delays, [10, 20]);
    });
  });

  void it('receives a real RTSP stream (RTP over TCP) pushed by a second ffmpeg', async () => {
    const port = 20000 + (process.pid % 20000);
    const url = `rtsp://127.0.0.1:${port}/live`;
    // This ffmpeg listens as the RTSP server; the publisher below pushes 40 frames of testsrc to it.
    const source = new FfmpegSource({ kind: 'rtsp', input: url, inputOptions: ['-rtsp_flags', 'listen'], timeoutMs: 10_000 });
    const frames: Frame[] = [];
    // Settles with the error the stream ends with (handled at once: it may end before the publisher returns).
    const ended = (async () => {
      for await (const frame of source) frames.push(frame);
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    try {
      let published = false;
      for (let attempt = 0; attempt < 20 && !published; attempt++) {
        await new Promise((r) => setTimeout(r, 150));
        try {
          await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=96x64:rate=25:duration=1.6', '-c:v', 'mpeg4', '-f', 'rtsp', '-rtsp_transport', 'tcp', url]);
          published = true;
        } catch {
          // The listener is not up yet.
        }
      }
      assert.ok(published, 'publisher connected');
      // A live stream that ends is a failure worth a restart.
      const error = await ended;
      assert.ok(error instanceof SourceError && /stream ended after \d+ frames/.test(error.message), String(error));
      assert.ok(frames.length >= 30, `got ${frames.length} frames`);
      assert.deepEqual([frames[0].width, frames[0].height], [96, 64]);
    } finally {
      await source.close();
    }
  });

  void it('builds V4L2 and RTSP command lines that pass camera MJPEG through', () => {
    const v4l2 = ffmpegArgs({ kind: 'v4l2', input: '/dev/video0', width: 640, height: 480, fps: 30 });
    assert.deepEqual(v4l2.slice(v4l2.indexOf('-f')), [
      '-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '640x480', '-framerate', '30',
      '-i', '/dev/video0', '-an', '-sn', '-dn', '-c:v', 'copy', '-f', 'mjpeg', 'pipe:1',
    ]);
    const yuyv = ffmpegArgs({ kind: 'v4l2', input: '/dev/video2', pixelFormat: 'yuyv422' });
    assert.ok(yuyv.includes('mjpeg') && yuyv.includes('yuvj420p'));
    const rtsp = ffmpegArgs({ kind: 'rtsp', input: 'rtsp://cam/s', timeoutMs: 2000 });
    assert.deepEqual(rtsp.slice(rtsp.indexOf('-rtsp_transport'), rtsp.indexOf('-rtsp_transport') + 4), ['-rtsp_transport', 'tcp', '-timeout', '2000000']);
  });
});
