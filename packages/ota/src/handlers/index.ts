// The one dispatcher of server-side messages: topic kind → handler (docs/ota-protocol.md §topics).
// A topic that is not a device topic the server consumes is counted and dropped; a handler that
// throws is counted too, so one bad message never stops the server.
import { parseDeviceTopic } from '../topics.js';
import type { DeviceTopicKind } from '../topics.js';
import { handleChunkRequest } from './chunk-request.js';
import type { Handler, HandlerContext } from './context.js';
import { handleInstallEvent } from './events.js';
import { handleSampleUpload } from './sample-upload.js';
import { handleState } from './state.js';
import { handleStatus } from './status.js';
import { handleTelemetry } from './telemetry.js';

export const HANDLERS: Partial<Record<DeviceTopicKind, Handler>> = {
  status: handleStatus,
  state: handleState,
  events: handleInstallEvent,
  telemetry: handleTelemetry,
  'chunks/request': handleChunkRequest,
  'samples/upload': handleSampleUpload,
};

export async function dispatch(ctx: HandlerContext, topic: string, payload: Buffer): Promise<void> {
  const parsed = parseDeviceTopic(topic);
  const handler = parsed === null ? undefined : HANDLERS[parsed.kind];
  if (parsed === null || handler === undefined) {
    ctx.dropped.count('topic');
    return;
  }
  try {
    await handler(ctx, parsed.deviceId, payload);
  } catch {
    ctx.dropped.count(`${parsed.kind}:handler-error`);
  }
}

export type { Handler, HandlerContext, ServerEvent, ServerStats } from './context.js';
