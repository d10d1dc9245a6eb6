// Uploads spooled samples (docs/ota-protocol.md §sample-upload) a few at a time and deletes each
// one only when its §sample-ack says stored or duplicate. An unanswered upload is retried on the
// next kick (reconnect, new sample, or ack timeout). The spool is the runtime's (one spool
// implementation on the device: the runtime's sampler writes it, this uploader drains it).
import { createHash } from 'node:crypto';

import type { SampleMeta, SampleSpool } from '@edgeloop/runtime';

import { encodeSampleFrame } from '../sample-frame.js';
import { DropCounter, SampleAckSchema, decodeJson } from '../schemas.js';
import type { SampleAck, SampleHeader } from '../schemas.js';
import { deviceTopic } from '../topics.js';
import type { MqttLink } from './mqtt-transport.js';

export interface UploaderOptions {
  /** Uploads awaiting an ack, at most (default 4). */
  inflight?: number;
  ackTimeoutMs?: number;
  /**
   * `removed`: false when the spool no longer held the sample (its policy evicted it while the
   * upload awaited this ack): counted as evicted by the spool, yet stored on the server.
   */
  onAck?: (ack: SampleAck, removed: boolean) => void;
}

/** The §sample-upload header of a runtime spool entry: the spool id, the image hash, and the sampler's metadata. */
export function sampleHeaderOf(meta: SampleMeta, image: Uint8Array): SampleHeader {
  return {
    v: 1,
    id: meta.id,
    sha256: createHash('sha256').update(image).digest('hex'),
    ts: meta.createdAt,
    contentType: 'image/jpeg',
    meta: { model: meta.model, reasons: meta.reasons, prediction: meta.prediction, frame: meta.frame },
  };
}

export class SampleUploader {
  private readonly pending = new Map<string, { sha256: string; timer: NodeJS.Timeout }>();
  private readonly removing = new Set<string>();
  private running = false;
  private again = false;
  readonly dropped = new DropCounter();

  constructor(
    private readonly spool: () => SampleSpool | undefined,
    private readonly link: () => MqttLink | undefined,
    private readonly deviceId: string,
    private readonly options: UploaderOptions = {},
  ) {}

  onAck(payload: Buffer): void {
    const decoded = decodeJson(SampleAckSchema, payload, 'sample-ack');
    if (!decoded.ok) return this.dropped.count(decoded.reason);
    const ack = decoded.value;
    const pending = this.pending.get(ack.id);
    const spool = this.spool();
    if (pending === undefined || pending.sha256 !== ack.sha256 || spool === undefined) return this.dropped.count('sample-ack:unexpected');
    clearTimeout(pending.timer);
    // Settled now, so a second ack for the same upload (it was re-sent) is 'unexpected', and the
    // sample is not uploaded again while it is being removed.
    this.pending.delete(ack.id);
    this.removing.add(ack.id);
    // 'rejected' means the bytes on the device no longer match their hash: resending cannot help.
    spool.remove(ack.id).then(
      (removed) => {
        this.removing.delete(ack.id);
        this.options.onAck?.(ack, removed);
        this.kick();
      },
      () => this.removing.delete(ack.id),
    );
  }

  /** Connection lost: acks for pending uploads will not come on a clean session. */
  onDisconnect(): void {
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.fill()
      .catch(() => undefined)
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async fill(): Promise<void> {
    const max = this.options.inflight ?? 4;
    const spool = this.spool();
    if (spool === undefined) return;
    for (const { id } of spool.list()) {
      const link = this.link();
      if (link === undefined || !link.connected || this.pending.size >= max) return;
      if (this.pending.has(id) || this.removing.has(id)) continue;
      const sample = await spool.read(id).catch(() => null);
      if (sample === null) continue;
      const header = sampleHeaderOf(sample.meta, sample.image);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.kick();
      }, this.options.ackTimeoutMs ?? 15_000);
      this.pending.set(id, { sha256: header.sha256, timer });
      await link.publish(deviceTopic(this.deviceId, 'samples/upload'), encodeSampleFrame(header, sample.image), { qos: 1 }).catch(() => {
        clearTimeout(timer);
        this.pending.delete(id);
      });
    }
  }

  close(): void {
    this.onDisconnect();
  }
}
