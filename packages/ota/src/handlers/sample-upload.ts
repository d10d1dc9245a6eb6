// §sample-upload → §sample-ack: check the hash, store blob + index entry durably, then ack.
import { createHash } from 'node:crypto';

import { decodeSampleFrame } from '../sample-frame.js';
import { encodeJson } from '../schemas.js';
import type { SampleAck } from '../schemas.js';
import { deviceTopic } from '../topics.js';
import type { Handler } from './context.js';

export const handleSampleUpload: Handler = async (ctx, deviceId, payload) => {
  const decoded = decodeSampleFrame(payload);
  if ('error' in decoded) return ctx.dropped.count(`sample-upload:${decoded.error}`);
  const { header, data } = decoded;
  let ack: SampleAck;
  if (createHash('sha256').update(data).digest('hex') !== header.sha256) {
    ack = { v: 1, id: header.id, sha256: header.sha256, status: 'rejected', reason: 'sha256 does not match the bytes' };
  } else {
    const status = await ctx.samples.put(deviceId, header, data);
    ack = { v: 1, id: header.id, sha256: header.sha256, status };
  }
  ctx.emit({ type: 'sample', deviceId, id: header.id, sha256: header.sha256, status: ack.status });
  await ctx.publish(deviceTopic(deviceId, 'samples/ack'), encodeJson(ack), { qos: 1 });
};
