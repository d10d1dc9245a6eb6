// Uploads spooled samples (docs/ota-protocol.md §sample-upload) a few at a time and deletes each
// one only when its §sample-ack says stored or duplicate. An unanswered upload is retried on the
// next kick (reconnect, new sample, or ack timeout).
import { encodeSampleFrame } from '../sample-frame.js';
import { DropCounter, SampleAckSchema, decodeJson } from '../schemas.js';
import type { SampleAck } from '../schemas.js';
import { deviceTopic } from '../topics.js';
import type { MqttLink } from './mqtt-transport.js';
import type { SampleSpool } from './sample-spool.js';

export interface UploaderOptions {
  /** Uploads awaiting an ack, at most (default 4). */
  inflight?: number;
  ackTimeoutMs?: number;
  onAck?: (ack: SampleAck) => void;
}

export class SampleUploader {
  private readonly pending = new Map<string, { sha256: string; timer: NodeJS.Timeout }>();
  private running = false;
  private again = false;
  readonly dropped = new DropCounter();

  constructor(
    private readonly spool: SampleSpool,
    private readonly link: () => MqttLink | undefined,
    private readonly deviceId: string,
    private readonly options: UploaderOptions = {},
  ) {}

  onAck(payload: Buffer): void {
    const decoded = decodeJson(SampleAckSchema, payload, 'sample-ack');
    if (!decoded.ok) return this.dropped.count(decoded.reason);
    const ack = decoded.value;
    const pending = this.pending.get(ack.id);
    if (pending === undefined || pending.sha256 !== ack.sha256) return this.dropped.count('sample-ack:unexpected');
    clearTimeout(pending.timer);
    // 'rejected' means the bytes on the device no longer match their hash: resending cannot help.
    this.spool.remove(ack.id).then(
      () => {
        this.pending.delete(ack.id);
        this.options.onAck?.(ack);
        this.kick();
      },
      () => this.pending.delete(ack.id),
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
    for (const id of await this.spool.ids()) {
      const link = this.link();
      if (link === undefined || !link.connected || this.pending.size >= max) return;
      if (this.pending.has(id)) continue;
      const sample = await this.spool.read(id);
      if (sample === null) continue;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.kick();
      }, this.options.ackTimeoutMs ?? 15_000);
      this.pending.set(id, { sha256: sample.header.sha256, timer });
      await link.publish(deviceTopic(this.deviceId, 'samples/upload'), encodeSampleFrame(sample.header, sample.data), { qos: 1 }).catch(() => {
        clearTimeout(timer);
        this.pending.delete(id);
      });
    }
  }

  close(): void {
    this.onDisconnect();
  }
}
