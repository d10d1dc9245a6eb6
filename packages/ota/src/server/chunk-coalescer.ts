// Request coalescing for §chunk-data (docs/ota-protocol.md §chunk-request). Chunks go to one
// topic per bundle, so every device fetching that bundle receives every copy the server sends.
// Answering each device's request separately would send N copies of each chunk to N devices
// (N² deliveries). Instead a requested chunk is not sent again while a recent copy is on its way:
//
//  - A device's *first* request for a chunk is skipped when a copy was sent less than `windowMs`
//    ago and after the device's last (re)connect was seen: that copy was published while the
//    device was, in all likelihood, subscribed, so it arrives (or has arrived) there as well.
//  - A *repeated* request (after the device's timeout, or after a copy that failed its hash) is
//    answered unless another device's request caused a newer copy, still recent, after it: so a
//    device that really missed a copy waits at most one request timeout, and a device that got a
//    bad copy is answered at once.
//
// A lone device, or one arriving after everyone else finished, finds no recent copy and is
// answered at once. Decisions use a sequence number that grows with every send and every
// request, so "after" is exact even within one millisecond.

/** Sends of one bundle's chunks: when (ms) and at which sequence number each was last sent. */
interface BundleSends {
  at: Float64Array;
  seq: Float64Array;
}

/** A device's requests for the bundle it fetches: chunk index → sequence number of its latest request. */
interface DeviceAsks {
  bundle: string;
  asked: Map<number, number>;
}

export interface ChunkCoalescerOptions {
  /** How long a sent copy satisfies other devices' first requests (default 2000 ms; keep it below the devices' request timeout). */
  windowMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export const DEFAULT_COALESCE_WINDOW_MS = 2000;

export class ChunkCoalescer {
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly bundles = new Map<string, BundleSends>();
  private readonly devices = new Map<string, DeviceAsks>();
  /** Device → sequence number of its last (re)connect seen by the server; earlier copies count as missed. */
  private readonly since = new Map<string, number>();
  private seq = 0;

  constructor(options: ChunkCoalescerOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_COALESCE_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Decides, for one requested index, whether this request needs a copy sent; when it does, the
   * send is recorded at once (before the chunk is read), so concurrent requests coalesce onto it.
   */
  shouldSend(deviceId: string, bundle: string, totalChunks: number, index: number): boolean {
    const sends = this.sendsOf(bundle, totalChunks);
    let device = this.devices.get(deviceId);
    if (device === undefined || device.bundle !== bundle) {
      device = { bundle, asked: new Map() };
      this.devices.set(deviceId, device);
    }
    const previousAsk = device.asked.get(index) ?? this.since.get(deviceId) ?? 0;
    const now = this.now();
    const recentCopyAfterAsk = sends.seq[index] > previousAsk && now - sends.at[index] < this.windowMs;
    if (!recentCopyAfterAsk) {
      sends.seq[index] = ++this.seq;
      sends.at[index] = now;
    }
    device.asked.set(index, ++this.seq);
    return !recentCopyAfterAsk;
  }

  /** The device (re)connected or went offline: copies sent before now may not have reached it. */
  reconnected(deviceId: string): void {
    this.since.set(deviceId, ++this.seq);
    this.devices.delete(deviceId);
  }

  /** The device is not downloading (any more): drop its requests. */
  forget(deviceId: string): void {
    this.devices.delete(deviceId);
  }

  /** Devices with remembered requests (for tests and stats). */
  get trackedDevices(): number {
    return this.devices.size;
  }

  private sendsOf(bundle: string, totalChunks: number): BundleSends {
    let sends = this.bundles.get(bundle);
    if (sends === undefined || sends.at.length !== totalChunks) {
      sends = { at: new Float64Array(totalChunks), seq: new Float64Array(totalChunks) };
      this.bundles.set(bundle, sends);
    }
    return sends;
  }
}
