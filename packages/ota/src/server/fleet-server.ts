// The fleet server: one MQTT client with the server identity, the fleet store, and the handlers.
// Publishes each device's desired state retained, and again on every (re)connect
// (docs/ota-protocol.md §recovery); serves chunks; records status, state and events.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';

import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

import { backoffDelay } from '@edgeloop/runtime';
import { DEFAULT_MAX_PACKET_BYTES } from '../broker.js';
import { chunkBytesFor } from '../transfer/descriptor.js';
import { BrokerError } from '../errors.js';
import { dispatch } from '../handlers/index.js';
import type { HandlerContext, ServerEvent, ServerStats } from '../handlers/index.js';
import { DropCounter, encodeJson } from '../schemas.js';
import type { DesiredState } from '../schemas.js';
import { deviceTopic, serverSubscriptions } from '../topics.js';
import { ChunkCoalescer, DEFAULT_COALESCE_WINDOW_MS } from './chunk-coalescer.js';
import { ChunkReader } from './chunk-reader.js';
import { SampleStore } from './sample-store.js';
import { FleetStore } from './store.js';

export interface FleetServerOptions {
  dataDir: string;
  broker: { url: string; username: string; password: string; ca?: string | Buffer };
  /** MQTT 5 shared-subscription group (§scaling); needs a broker that has shared subscriptions. */
  sharedGroup?: string;
  /** The broker's packet limit (default 1 MiB, as startBroker); chunks are sized to fit below it. */
  maxPacketBytes?: number;
  /** Requested chunk size (default 256 KiB), capped by maxPacketBytes. */
  chunkBytes?: number;
  /**
   * Called after an assignment changed and before the desired state is published, with device id →
   * bundles it may read. An external broker's ACL is updated here (e.g. rewrite mosquitto's
   * acl_file and send it SIGHUP); the embedded broker reads the store directly and needs nothing.
   */
  onAssignmentsChanged?: (assignments: Map<string, string[]>) => Promise<void>;
  /**
   * A chunk copy sent on a bundle's topic answers other devices' first requests for the same chunk
   * for this long (default 2000 ms; below the devices' request timeout, default 5 s). 0 turns
   * request coalescing off: every request is answered with its own copy (§chunk-request).
   */
  coalesceMs?: number;
}

export interface FleetServerEvents {
  message: [ServerEvent];
}

export class FleetServer extends EventEmitter<FleetServerEvents> {
  readonly store: FleetStore;
  readonly samples: SampleStore;
  readonly dropped = new DropCounter();
  readonly stats: ServerStats = { chunksRequested: 0, chunksCoalesced: 0, chunksServed: 0, bytesServed: 0, bytesServedByDevice: new Map() };
  private readonly chunks: ChunkReader;
  private readonly coalescer: ChunkCoalescer;
  private client: MqttClient | undefined;
  private attempt = 0;

  constructor(readonly options: FleetServerOptions) {
    super();
    this.store = new FleetStore(options.dataDir, chunkBytesFor(options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES, options.chunkBytes));
    this.samples = new SampleStore(join(options.dataDir, 'samples'));
    this.chunks = new ChunkReader(this.store);
    this.coalescer = new ChunkCoalescer({ windowMs: options.coalesceMs ?? DEFAULT_COALESCE_WINDOW_MS });
  }

  async start(): Promise<void> {
    await this.store.open();
    await this.samples.open();
    const { broker, sharedGroup } = this.options;
    const client = mqtt.connect(broker.url, {
      clientId: `edgeloop-server-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      username: broker.username,
      password: broker.password,
      protocolVersion: sharedGroup === undefined ? 4 : 5,
      clean: true,
      reconnectPeriod: 200,
      ca: broker.ca,
    });
    this.client = client;
    const ctx: HandlerContext = {
      store: this.store,
      chunks: this.chunks,
      coalescer: this.coalescer,
      samples: this.samples,
      publish: async (topic, payload, opts) => {
        await client.publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain ?? false });
      },
      dropped: this.dropped,
      stats: this.stats,
      emit: (event) => this.emit('message', event),
    };
    client.on('message', (topic, payload) => {
      dispatch(ctx, topic, payload).catch(() => this.dropped.count('dispatch'));
    });
    client.on('reconnect', () => {
      client.options.reconnectPeriod = backoffDelay(this.attempt++, { baseMs: 200, maxMs: 10_000 });
    });
    client.on('error', () => undefined);
    client.on('connect', () => {
      this.attempt = 0;
      this.onConnected().catch(() => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        client.off('connect', onConnect);
        reject(new BrokerError(`fleet server cannot connect: ${error.message}`, { cause: error }));
      };
      const onConnect = (): void => {
        client.off('error', onError);
        resolve();
      };
      client.once('connect', onConnect);
      client.once('error', onError);
    });
  }

  private async onConnected(): Promise<void> {
    const client = this.requireClient();
    const granted = await client.subscribeAsync(serverSubscriptions(this.options.sharedGroup), { qos: 1 });
    if (granted.some((g) => g.qos === 128)) this.dropped.count('subscribe-refused');
    for (const [deviceId, desired] of this.store.allDesired()) await this.publishDesired(deviceId, desired);
  }

  private requireClient(): MqttClient {
    if (this.client === undefined) throw new Error('fleet server not started');
    return this.client;
  }

  /**
   * Assigns a stored bundle to a device (null: keep what it has) and publishes it retained.
   * `rollback`: an explicit return to the device's previous bundle (§rollback).
   */
  async assign(deviceId: string, bundleSha256: string | null, options: { rollback?: boolean } = {}): Promise<DesiredState> {
    const desired = await this.store.setDesired(deviceId, bundleSha256, options);
    await this.options.onAssignmentsChanged?.(this.store.assignmentMap());
    await this.publishDesired(deviceId, desired);
    return desired;
  }

  private async publishDesired(deviceId: string, desired: DesiredState): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) return; // published again on connect
    await client.publishAsync(deviceTopic(deviceId, 'desired'), encodeJson(desired), { qos: 1, retain: true });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await client.endAsync(!client.connected);
    await this.chunks.close();
  }
}
