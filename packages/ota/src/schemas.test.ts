import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeChunkFrame, encodeChunkFrame } from './chunk-frame.js';
import { ChunkRequestSchema, DesiredStateSchema, DropCounter, decodeJson, encodeJson } from './schemas.js';
import { parseDeviceTopic } from './topics.js';

const SHA = 'ab'.repeat(32);

describe('message schemas', () => {
  it('decodes a valid desired state', () => {
    const desired = { v: 1, bundle: { sha256: SHA, size: 10, version: 2, targetProfile: 'raspberry-pi-4' }, transfer: { chunkBytes: 1024, chunkSha256: [SHA] } };
    const decoded = decodeJson(DesiredStateSchema, encodeJson(desired), 'desired');
    assert.ok(decoded.ok);
  });

  it('counts and drops malformed and hostile messages without throwing', () => {
    const drops = new DropCounter();
    const hostile: Buffer[] = [
      Buffer.from('not json'),
      Buffer.from('{"v":1,"bundle":{"sha256":"../../etc/passwd","size":1,"version":1,"targetProfile":"x"}}'),
      Buffer.from('{"__proto__":{"polluted":true},"v":1,"bundle":null}x'),
      Buffer.from('[]'),
      Buffer.from('null'),
      Buffer.from(JSON.stringify({ v: 2, bundle: null })),
      Buffer.from(JSON.stringify({ v: 1, bundle: { sha256: SHA, size: -1, version: 1.5, targetProfile: 'x' } })),
      Buffer.alloc(3 * 1024 * 1024, 0x20),
      Buffer.from([0xff, 0xfe, 0x00]),
    ];
    for (const payload of hostile) {
      const decoded = decodeJson(DesiredStateSchema, payload, 'desired');
      assert.equal(decoded.ok, false);
      if (!decoded.ok) drops.count(decoded.reason);
    }
    assert.equal(drops.total, hostile.length);
    assert.deepEqual(Object.keys(drops.snapshot()).sort(), ['desired:json', 'desired:schema', 'desired:too-large']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('bounds chunk requests', () => {
    const tooMany = { v: 1, bundle: SHA, chunks: Array.from({ length: 65 }, (_, i) => i) };
    assert.equal(decodeJson(ChunkRequestSchema, encodeJson(tooMany), 'r').ok, false);
    assert.equal(decodeJson(ChunkRequestSchema, encodeJson({ v: 1, bundle: SHA, chunks: [-1] }), 'r').ok, false);
    assert.equal(decodeJson(ChunkRequestSchema, encodeJson({ v: 1, bundle: SHA, chunks: [0, 5] }), 'r').ok, true);
  });
});

describe('chunk frame', () => {
  it('round-trips and rejects damaged headers', () => {
    const data = Buffer.from('hello chunk');
    const frame = encodeChunkFrame({ index: 3, totalChunks: 9, bundleSha256: SHA, data });
    const decoded = decodeChunkFrame(frame);
    assert.ok(decoded !== null);
    assert.equal(decoded.index, 3);
    assert.equal(decoded.totalChunks, 9);
    assert.equal(decoded.bundleSha256, SHA);
    assert.deepEqual(Buffer.from(decoded.data), data);
    assert.equal(decodeChunkFrame(frame.subarray(0, 47)), null);
    const badMagic = Buffer.from(frame);
    badMagic[0] = 0x58;
    assert.equal(decodeChunkFrame(badMagic), null);
    const badIndex = Buffer.from(frame);
    badIndex.writeUInt32BE(9, 8);
    assert.equal(decodeChunkFrame(badIndex), null);
  });
});

describe('topics', () => {
  it('parses device topics and rejects anything else', () => {
    assert.deepEqual(parseDeviceTopic('edgeloop/v1/devices/dev-1/chunks/request'), { deviceId: 'dev-1', kind: 'chunks/request' });
    for (const topic of ['edgeloop/v1/devices/dev-1/unknown', 'edgeloop/v1/devices/DEV/state', 'edgeloop/v1/devices//state', 'edgeloop/v2/devices/d/state', 'edgeloop/v1/devices/d']) {
      assert.equal(parseDeviceTopic(topic), null, topic);
    }
  });
});
