import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { chunkBytesFor, chunkCount, chunkRange } from './descriptor.js';

describe('chunk sizing', () => {
  it('keeps chunks below the broker packet limit', () => {
    assert.equal(chunkBytesFor(1024 * 1024), 256 * 1024);
    assert.equal(chunkBytesFor(256 * 1024), 254 * 1024);
    assert.equal(chunkBytesFor(64 * 1024, 1024 * 1024), 62 * 1024);
    assert.throws(() => chunkBytesFor(1500), { code: 'TRANSFER_DESCRIPTOR' });
  });

  it('splits a size into ranges with a short last chunk', () => {
    assert.equal(chunkCount(10_000, 4096), 3);
    assert.deepEqual(chunkRange(2, 10_000, 4096), { offset: 8192, length: 1808 });
  });
});
