import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { testImage } from '../bundles.test.helpers.js';
import { JpegSplitter } from './jpeg-splitter.js';
import { MultipartParser, boundaryOf } from './multipart.js';

/** A JPEG with an APP1 segment whose payload contains FFD9 and FFD8 (as an EXIF thumbnail would). */
function withTrickyAppSegment(jpeg: Buffer): Buffer {
  const payload = Buffer.from([0x45, 0x78, 0x69, 0x66, 0, 0, 0xff, 0xd8, 0xff, 0xd9, 0xff, 0xd9, 1, 2]);
  const segment = Buffer.concat([Buffer.from([0xff, 0xe1, 0, payload.length + 2]), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

function chunked(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length];
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

void describe('JpegSplitter', () => {
  void it('splits concatenated JPEGs at any chunking, past FFD9 inside segments, with sizes from SOF', async () => {
    const a = withTrickyAppSegment(await testImage(1, 'jpeg', 40, 30));
    const b = await testImage(2, 'jpeg', 16, 12);
    const progressive = await sharp(await testImage(3, 'png', 24, 20)).jpeg({ progressive: true }).toBuffer();
    const stream = Buffer.concat([Buffer.from('garbage'), a, Buffer.from([0xff, 0x00, 0x12]), b, progressive, a]);
    for (const sizes of [[stream.length], [1], [7, 3, 1000], [64]]) {
      const splitter = new JpegSplitter();
      const frames = chunked(stream, sizes).flatMap((c) => splitter.push(c));
      assert.equal(frames.length, 4, `chunk sizes ${sizes.join(',')}`);
      assert.deepEqual(Buffer.from(frames[0].data), a);
      assert.deepEqual(Buffer.from(frames[1].data), b);
      assert.deepEqual(Buffer.from(frames[2].data), progressive);
      assert.deepEqual([frames[0].width, frames[0].height], [40, 30]);
      assert.deepEqual([frames[2].width, frames[2].height], [24, 20]);
      assert.equal(splitter.pending, 0);
      assert.equal(splitter.garbageBytes, 'garbage'.length + 3);
      const meta = await sharp(frames[3].data).metadata();
      assert.equal(meta.width, 40);
    }
  });

  void it('drops a frame that grows past the size limit and recovers on the next one', async () => {
    const b = await testImage(2, 'jpeg', 16, 12);
    const splitter = new JpegSplitter({ maxFrameBytes: 100 });
    const frames = [...splitter.push(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x10, 0x00])), ...splitter.push(Buffer.alloc(200, 1))];
    assert.equal(frames.length, 0);
    assert.equal(splitter.discardedFrames, 1);
    const big = new JpegSplitter();
    assert.equal(big.push(b).length, 1);
  });
});

void describe('MultipartParser', () => {
  void it('parses parts with and without Content-Length at any chunking', async () => {
    const a = await testImage(1, 'jpeg');
    const b = await testImage(2, 'jpeg');
    assert.equal(boundaryOf('multipart/x-mixed-replace; boundary="frame"'), 'frame');
    assert.equal(boundaryOf('multipart/x-mixed-replace;boundary=--myboundary'), '--myboundary');
    const body = Buffer.concat([
      Buffer.from('preamble\r\n--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ' + a.length + '\r\n\r\n'),
      a,
      Buffer.from('\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n'),
      b,
      Buffer.from('\r\n--frame--\r\n'),
    ]);
    for (const sizes of [[body.length], [1], [13, 500]]) {
      const parser = new MultipartParser('frame');
      const parts = chunked(body, sizes).flatMap((c) => parser.push(c));
      assert.equal(parts.length, 2);
      assert.deepEqual(Buffer.from(parts[0].body), a);
      assert.deepEqual(Buffer.from(parts[1].body), b);
      assert.equal(parts[0].headers['content-type'], 'image/jpeg');
      assert.equal(parser.done, true);
    }
  });
});
