import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { retryWithBackoff } from '@edgeloop/runtime';
import { BrokerError, DiskFullError, isOtaError } from './errors.js';

describe('OTA errors', () => {
  it('a retryable error paces the shared retryWithBackoff with its retryAfter', async () => {
    let calls = 0;
    const started = Date.now();
    const value = await retryWithBackoff(async () => {
      calls++;
      if (calls < 2) throw new BrokerError('broker busy', { retryAfter: 40 });
      return 'ok';
    }, { attempts: 3, baseMs: 1, maxMs: 1 });
    assert.equal(value, 'ok');
    assert.ok(Date.now() - started >= 35, 'waited for retryAfter, not the 1 ms backoff');
  });

  it('carries a stable code and no retryAfter unless given', () => {
    const error = new DiskFullError('disk full');
    assert.equal(error.code, 'DISK_FULL');
    assert.equal(error.retryAfter, undefined);
    assert.ok(isOtaError(error));
  });
});
