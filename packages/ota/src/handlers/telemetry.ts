// §telemetry: numbers only; passed on to listeners, not stored.
import { TelemetrySchema, decodeJson } from '../schemas.js';
import type { Handler } from './context.js';

export const handleTelemetry: Handler = async (ctx, deviceId, payload) => {
  const decoded = decodeJson(TelemetrySchema, payload, 'telemetry');
  if (!decoded.ok) return ctx.dropped.count(decoded.reason);
  ctx.emit({ type: 'telemetry', deviceId, telemetry: decoded.value });
};
