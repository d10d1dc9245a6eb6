// What every server-side message handler gets (STYLE item 7: one handler per file, dispatched
// from handlers/index.ts).
import type { DropCounter } from '../schemas.js';
import type { InstallEvent, ReportedState, DeviceStatus, Telemetry } from '../schemas.js';
import type { FleetStore } from '../server/store.js';
import type { ChunkCoalescer } from '../server/chunk-coalescer.js';
import type { ChunkReader } from '../server/chunk-reader.js';
import type { SampleStore } from '../server/sample-store.js';

export interface ServerStats {
  /** Chunk indices asked for in valid requests (each index of each request). */
  chunksRequested: number;
  /** Of those, answered by a recent copy already sent on the bundle's topic (not sent again). */
  chunksCoalesced: number;
  /** Chunk copies published. */
  chunksServed: number;
  bytesServed: number;
  /** Chunk payload bytes published per device whose request caused the copy. */
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
  coalescer: ChunkCoalescer;
  samples: SampleStore;
  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void>;
  dropped: DropCounter;
  stats: ServerStats;
  emit(event: ServerEvent): void;
}

export type Handler = (ctx: HandlerContext, deviceId: string, payload: Buffer) => Promise<void>;
