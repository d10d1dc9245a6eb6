import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isValidFilter, mayPublish, maySubscribe } from './acl.js';
import type { BundleAssignments } from './acl.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const assignments: BundleAssignments = { isAssigned: (device, sha) => device === 'dev-1' && sha === A };
const dev = { role: 'device' as const, id: 'dev-1' };
const server = { role: 'server' as const, id: 'edgeloop-server' };

describe('acl', () => {
  it('lets a device publish only its own device-side topics', () => {
    for (const kind of ['status', 'state', 'chunks/request', 'events', 'telemetry', 'samples/upload']) {
      assert.ok(mayPublish(dev, `edgeloop/v1/devices/dev-1/${kind}`), kind);
      assert.ok(!mayPublish(dev, `edgeloop/v1/devices/dev-2/${kind}`), kind);
    }
    for (const topic of ['edgeloop/v1/devices/dev-1/desired', 'edgeloop/v1/devices/dev-1/samples/ack', `edgeloop/v1/bundles/${A}/chunks`,
      'edgeloop/v1/devices/dev-1/state/extra', 'edgeloop/v1/devices/dev-1/+', '$SYS/x', 'other/topic', 'edgeloop/v1/devices/dev-1']) {
      assert.ok(!mayPublish(dev, topic), topic);
    }
  });

  it('lets a device subscribe inside its own subtree and to assigned bundle chunks only', () => {
    assert.ok(maySubscribe(dev, 'edgeloop/v1/devices/dev-1/desired', assignments));
    assert.ok(maySubscribe(dev, 'edgeloop/v1/devices/dev-1/#', assignments));
    assert.ok(maySubscribe(dev, `edgeloop/v1/bundles/${A}/chunks`, assignments));
    for (const filter of ['#', '+/#', 'edgeloop/#', 'edgeloop/v1/#', 'edgeloop/v1/devices/+/desired', 'edgeloop/v1/devices/dev-1', 'edgeloop/v1/devices/dev-10/desired',
      'edgeloop/v1/devices/dev-2/#', `edgeloop/v1/bundles/${B}/chunks`, 'edgeloop/v1/bundles/+/chunks', 'edgeloop/v1/bundles/#', '$share/g/edgeloop/v1/devices/dev-1/desired',
      'edgeloop/v1/devices/dev-1/de#', 'edgeloop/v1/devices/dev-1/#/x']) {
      assert.ok(!maySubscribe(dev, filter, assignments), filter);
    }
  });

  it('gives the server the whole edgeloop/v1 tree, shared subscriptions included', () => {
    assert.ok(maySubscribe(server, 'edgeloop/v1/#', assignments));
    assert.ok(maySubscribe(server, '$share/fleet/edgeloop/v1/devices/+/state', assignments));
    assert.ok(mayPublish(server, 'edgeloop/v1/devices/dev-1/desired'));
    assert.ok(!maySubscribe(server, '#', assignments));
    assert.ok(!mayPublish(server, '$SYS/broker'));
  });

  it('validates filters', () => {
    assert.ok(isValidFilter('a/+/b/#'));
    assert.ok(!isValidFilter('a/b#'));
    assert.ok(!isValidFilter('a/#/b'));
    assert.ok(!isValidFilter('a+/b'));
    assert.ok(!isValidFilter(''));
  });
});
