// §status: a device's retained online/offline flag (the offline one is its last will).
import { DeviceStatusSchema, decodeJson } from '../schemas.js';
import type { Handler } from './context.js';

export const handleStatus: Handler = async (ctx, deviceId, payload) => {
  if (payload.byteLength === 0) return; // retained message cleared
  const decoded = decodeJson(DeviceStatusSchema, payload, 'status');
  if (!decoded.ok) return ctx.dropped.count(decoded.reason);
  // Online after a reconnect (resubscribed) or offline: chunk copies sent before may not have
  // reached it, so its next requests are not coalesced onto them (§chunk-request).
  ctx.coalescer.reconnected(deviceId);
  await ctx.store.recordStatus(deviceId, decoded.value);
  ctx.emit({ type: 'status', deviceId, status: decoded.value });
};
