import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { testImage, withTempDir } from '../bundles.test.helpers.js';
import { SourceConfigError } from '../errors.js';
import { FolderSource, globToRegExp, listImageFiles } from './folder.js';
import type { Frame } from './frame.js';
import { ImageSource } from './image.js';
import { parseSource } from './open.js';

async function collect(source: AsyncIterable<Frame>, limit = Infinity): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const frame of source) {
    frames.push(frame);
    if (frames.length >= limit) break;
  }
  return frames;
}

async function makeFolder(dir: string): Promise<void> {
  // Numbered so natural order (2 before 10) differs from plain string order.
  for (const n of [1, 2, 10]) await writeFile(join(dir, `frame-${n}.png`), await testImage(n));
  await writeFile(join(dir, 'frame-3.jpg'), await testImage(3, 'jpeg'));
  await writeFile(join(dir, 'notes.txt'), 'not an image');
}

void describe('FolderSource', () => {
  void it('replays image files in natural name order as fast as possible, once', async () => {
    await withTempDir(async (dir) => {
      await makeFolder(dir);
      const frames = await collect(new FolderSource({ path: dir }));
      assert.deepEqual(frames.map((f) => f.origin?.split('/').pop()), ['frame-1.png', 'frame-2.png', 'frame-3.jpg', 'frame-10.png']);
      assert.deepEqual(frames.map((f) => f.seq), [0, 1, 2, 3]);
      assert.deepEqual(frames.map((f) => f.format), ['png', 'png', 'jpeg', 'png']);
    });
  });

  void it('paces frames at the requested fps and loops', async () => {
    await withTempDir(async (dir) => {
      await makeFolder(dir);
      const start = performance.now();
      const frames = await collect(new FolderSource({ path: dir, fps: 50, loop: true }), 10);
      const elapsed = performance.now() - start;
      // 10 frames at 50 fps: the 10th is due at 180 ms.
      assert.ok(elapsed >= 175, `took ${elapsed} ms`);
      assert.ok(elapsed < 3000, `took ${elapsed} ms`);
      assert.equal(frames[4].origin, frames[0].origin, 'looped');
    });
  });

  void it('takes a glob in the file name and rejects empty matches and wildcard folders', async () => {
    await withTempDir(async (dir) => {
      await makeFolder(dir);
      assert.equal((await listImageFiles(join(dir, 'frame-?.png'))).length, 2);
      assert.equal((await listImageFiles(join(dir, '*.jpg'))).length, 1);
      assert.ok(globToRegExp('f[!a]?.jp*g').test('fb1.jpeg'));
      await mkdir(join(dir, 'empty'));
      await assert.rejects(collect(new FolderSource({ path: join(dir, 'empty') })), SourceConfigError);
      await assert.rejects(collect(new FolderSource({ path: join(dir, '*.bmp') })), /holds no image files/);
      await assert.rejects(listImageFiles(join(dir, '*', 'x.png')), /file name only/);
    });
  });

  void it('close() ends a paced replay at once', async () => {
    await withTempDir(async (dir) => {
      await makeFolder(dir);
      const source = new FolderSource({ path: dir, fps: 0.2, loop: true });
      const iterator = source[Symbol.asyncIterator]();
      await iterator.next();
      const pending = iterator.next();
      const start = performance.now();
      await source.close();
      assert.equal((await pending).done, true);
      assert.ok(performance.now() - start < 3000, 'not the 5 s until the next frame');
    });
  });
});

void describe('ImageSource and parseSource', () => {
  void it('repeats one image and tells source kinds apart', async () => {
    await withTempDir(async (dir) => {
      await makeFolder(dir);
      const file = join(dir, 'frame-3.jpg');
      const frames = await collect(new ImageSource({ path: file, count: 3 }));
      assert.equal(frames.length, 3);
      assert.equal(frames[2].seq, 2);
      assert.deepEqual(await parseSource(dir), { kind: 'folder', target: dir });
      assert.deepEqual(await parseSource(file), { kind: 'image', target: file });
      assert.deepEqual(await parseSource('v4l2:/dev/video0'), { kind: 'v4l2', target: '/dev/video0' });
      assert.deepEqual(await parseSource('rtsp://cam.local/stream'), { kind: 'rtsp', target: 'rtsp://cam.local/stream' });
      assert.deepEqual(await parseSource('http://127.0.0.1:8080/'), { kind: 'mjpeg-http', target: 'http://127.0.0.1:8080/' });
      await assert.rejects(parseSource(join(dir, 'nope')), SourceConfigError);
      await assert.rejects(parseSource(join(dir, 'notes.txt')), /not an image/);
      await assert.rejects(parseSource('ftp://x/y'), /unknown scheme/);
    });
  });
});
