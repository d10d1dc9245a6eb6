import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Backoff, backoffDelay, retryWithBackoff } from './backoff.js';

describe('backoff', () => {
  it('grows exponentially, caps, and jitters within [d/2, d]', () => {
    const fixed = { baseMs: 100, maxMs: 1000, jitter: 0 };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, fixed)), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(backoffDelay(3, { baseMs: 100, random: () => 0.999999 }), 400);
    assert.equal(backoffDelay(3, { baseMs: 100, random: () => 0 }), 800);
    assert.equal(backoffDelay(2, { baseMs: 100, factor: 3, jitter: 0 }), 900);
  });

  it('Backoff counts attempts and starts over on reset', () => {
    const b = new Backoff({ baseMs: 10, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next()], [10, 20, 40]);
    b.reset();
    assert.equal(b.next(), 10);
  });

  it('retries until success, honouring retryAfter on errors, and stops on non-retryable errors', async () => {
    let calls = 0;
    const value = await retryWithBackoff(async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('busy'), { retryAfter: 5 });
      return 'ok';
    }, { attempts: 5, baseMs: 1, maxMs: 2 });
    assert.equal(value, 'ok');
    assert.equal(calls, 3);
    await assert.rejects(retryWithBackoff(async () => {
      throw new Error('fatal');
    }, { attempts: 5, baseMs: 1, isRetryable: () => false }), /fatal/);
  });
});
