// §chunk-request → §chunk-data: answer the requested indices of the bundle currently desired for
// the requesting device, except those that a recent copy on the shared chunk topic already
// answers (request coalescing, server/chunk-coalescer.ts); anything else is counted and dropped.
import { CHUNK_HEADER_BYTES } from '../chunk-frame.js';
import { ChunkRequestSchema, decodeJson } from '../schemas.js';
import { chunkTopic } from '../topics.js';
import type { Handler } from './context.js';

export const handleChunkRequest: Handler = async (ctx, deviceId, payload) => {
  const decoded = decodeJson(ChunkRequestSchema, payload, 'chunk-request');
  if (!decoded.ok) return ctx.dropped.count(decoded.reason);
  const { bundle, chunks } = decoded.value;
  if (!ctx.store.isAssigned(deviceId, bundle)) return ctx.dropped.count('chunk-request:not-assigned');
  const record = ctx.store.getBundle(bundle);
  if (record === undefined) return ctx.dropped.count('chunk-request:unknown-bundle');
  const total = record.transfer.chunkSha256.length;
  const topic = chunkTopic(bundle);
  // Decide for every index before the first await, so that requests handled meanwhile coalesce
  // onto the copies this one is about to send.
  const toSend: number[] = [];
  for (const index of new Set(chunks)) {
    if (index >= total) {
      ctx.dropped.count('chunk-request:index');
      continue;
    }
    ctx.stats.chunksRequested++;
    if (ctx.coalescer.shouldSend(deviceId, bundle, total, index)) toSend.push(index);
    else ctx.stats.chunksCoalesced++;
  }
  // QoS 0: the device's request window and timeouts are the reliability layer (§transfer); QoS 1
  // would add PUBACKs and, after a reconnect, re-send chunks the device has already re-requested.
  // One read at a time, each chunk published as soon as it is read: the first chunk goes out
  // without waiting for the others.
  const sends: Promise<void>[] = [];
  for (const index of toSend) {
    const frame = await ctx.chunks.readFrame(record, index);
    const bytes = frame.byteLength - CHUNK_HEADER_BYTES;
    ctx.stats.chunksServed++;
    ctx.stats.bytesServed += bytes;
    ctx.stats.bytesServedByDevice.set(deviceId, (ctx.stats.bytesServedByDevice.get(deviceId) ?? 0) + bytes);
    sends.push(ctx.publish(topic, frame, { qos: 0 }));
  }
  await Promise.all(sends);
};
