// §events: install events, appended to the device's event log.
import { InstallEventSchema, decodeJson } from '../schemas.js';
import type { Handler } from './context.js';

export const handleInstallEvent: Handler = async (ctx, deviceId, payload) => {
  const decoded = decodeJson(InstallEventSchema, payload, 'events');
  if (!decoded.ok) return ctx.dropped.count(decoded.reason);
  await ctx.store.appendEvent(deviceId, decoded.value);
  ctx.emit({ type: 'install-event', deviceId, event: decoded.value });
};
