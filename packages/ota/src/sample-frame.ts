// §sample-upload frame: u32 BE header length, JSON header, then the image bytes.
import { SampleHeaderSchema, isValidMessage } from './schemas.js';
import type { SampleHeader } from './schemas.js';

export const MAX_SAMPLE_FRAME_BYTES = 4 * 1024 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;

export function encodeSampleFrame(header: SampleHeader, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.byteLength + data.byteLength);
  out.writeUInt32BE(json.byteLength, 0);
  json.copy(out, 4);
  out.set(data, 4 + json.byteLength);
  return out;
}

export function decodeSampleFrame(payload: Buffer): { header: SampleHeader; data: Buffer } | { error: string } {
  if (payload.byteLength < 4 || payload.byteLength > MAX_SAMPLE_FRAME_BYTES) return { error: 'size' };
  const length = payload.readUInt32BE(0);
  if (length === 0 || length > MAX_HEADER_BYTES || 4 + length > payload.byteLength) return { error: 'header-length' };
  let header: unknown;
  try {
    header = JSON.parse(payload.toString('utf8', 4, 4 + length));
  } catch {
    return { error: 'json' };
  }
  if (!isValidMessage(SampleHeaderSchema, header)) return { error: 'schema' };
  return { header, data: payload.subarray(4 + length) };
}
