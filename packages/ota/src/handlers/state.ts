// §state: a device's retained reported state.
import { ReportedStateSchema, decodeJson } from '../schemas.js';
import type { Handler } from './context.js';

export const handleState: Handler = async (ctx, deviceId, payload) => {
  if (payload.byteLength === 0) return;
  const decoded = decodeJson(ReportedStateSchema, payload, 'state');
  if (!decoded.ok) return ctx.dropped.count(decoded.reason);
  if (decoded.value.phase !== 'downloading') ctx.coalescer.forget(deviceId);
  await ctx.store.recordReported(deviceId, decoded.value);
  ctx.emit({ type: 'state', deviceId, state: decoded.value });
};
