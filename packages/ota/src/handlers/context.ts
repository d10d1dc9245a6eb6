// What every server-side message handler gets (STYLE item 7: one handler per file, dispatched
// from handlers/index.ts).
import type { DropCounter } from '../schemas.js';
import type { InstallEvent, ReportedState, DeviceStatus, Telemetry } from '../schemas.js';
import type { FleetStore } from '../server/store.js';
import type { ChunkReader } from '../server/chunk-reader.js';
import type { SampleStore } from '../server/sample-store.js';

export interface ServerStats {
  chunksServed: number;
  bytesServed: number;
  /** Chunk payload bytes served per device (each request is answered for its requester). */
  bytesServedByDevice: Map<string, number>;
}

export type ServerEvent =
  | { type: 'status'; deviceId: string; status: DeviceStatus }
  | { type: 'state'; deviceId: string; state: ReportedState }
  | { type: 'install-event'; deviceId: string; event: InstallEvent }
  | { type: 'telemetry'; deviceId: string; telemetry: Telemetry }
  | { type: 'sample'; deviceId: string; id: string; sha256: string; status: 'stored' | 'duplicate' | 'rejected' };

export interface HandlerContext {
  store: FleetStore;
  chunks: ChunkReader;
  samples: SampleStore;
  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void>;
  dropped: DropCounter;
  stats: ServerStats;
  emit(event: ServerEvent): void;
}

export type Handler = (ctx: HandlerContext, deviceId: string, payload: Buffer) => Promise<void>;
