// §chunk-request → §chunk-data: answer each requested index of the bundle currently desired for
// the requesting device; anything else is counted and dropped.
import { encodeChunkFrame } from '../chunk-frame.js';
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
  // QoS 0: the device's request window and timeouts are the reliability layer (§transfer); QoS 1
  // would add PUBACKs and, after a reconnect, re-send chunks the device has already re-requested.
  const sends: Promise<void>[] = [];
  for (const index of new Set(chunks)) {
    if (index >= total) {
      ctx.dropped.count('chunk-request:index');
      continue;
    }
    const data = await ctx.chunks.read(record, index);
    ctx.stats.chunksServed++;
    ctx.stats.bytesServed += data.byteLength;
    ctx.stats.bytesServedByDevice.set(deviceId, (ctx.stats.bytesServedByDevice.get(deviceId) ?? 0) + data.byteLength);
    sends.push(ctx.publish(topic, encodeChunkFrame({ index, totalChunks: total, bundleSha256: bundle, data }), { qos: 0 }));
  }
  await Promise.all(sends);
};
