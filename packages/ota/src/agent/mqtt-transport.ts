// The agent's MQTT connection: one client, topic routing, and the ChunkTransport the downloader
// uses (docs/ota-protocol.md §chunk-request, §chunk-data).
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';

import { BrokerError } from '../errors.js';
import { backoffDelay } from '@edgeloop/runtime';
import { encodeJson } from '../schemas.js';
import type { ChunkRequest } from '../schemas.js';
import { chunkTopic, deviceTopic } from '../topics.js';
import type { ChunkTransport } from '../transfer/downloader.js';

export interface MqttConnectOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  will?: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean };
  /** TLS: CA certificate(s) to trust for mqtts:// */
  ca?: string | Buffer;
  connectTimeoutMs?: number;
}

type MessageListener = (topic: string, payload: Buffer) => void;

/** An MQTT 3.1.1 client with reconnects paced by backoffDelay and exact-topic routing. */
export class MqttLink {
  readonly client: MqttClient;
  private readonly routes = new Map<string, MessageListener>();
  private readonly connectionListeners = new Set<(connected: boolean) => void>();
  private attempt = 0;

  constructor(options: MqttConnectOptions) {
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 200,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      resubscribe: true,
      // QoS 0 messages are not kept for after a reconnect: a chunk request from before a cut would
      // be answered beside the re-request the download makes, and the chunk would arrive twice.
      queueQoSZero: false,
      will: options.will,
      ca: options.ca,
    };
    this.client = mqtt.connect(options.url, clientOptions);
    this.client.on('connect', () => {
      this.attempt = 0;
      for (const listener of this.connectionListeners) listener(true);
    });
    this.client.on('close', () => {
      for (const listener of this.connectionListeners) listener(false);
    });
    this.client.on('reconnect', () => {
      // The shared backoff paces reconnects; mqtt.js reads reconnectPeriod before each attempt.
      this.client.options.reconnectPeriod = backoffDelay(this.attempt++, { baseMs: 200, maxMs: 10_000 });
    });
    this.client.on('error', () => {
      // Connection errors surface as 'close' and are retried; auth refusals too (reported via waitConnected).
    });
    this.client.on('message', (topic, payload) => this.routes.get(topic)?.(topic, payload));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  route(topic: string, listener: MessageListener): void {
    this.routes.set(topic, listener);
  }

  unroute(topic: string): void {
    this.routes.delete(topic);
  }

  /** Subscribes to exact topics; throws BrokerError when the broker refuses one (SUBACK 0x80). */
  async subscribe(topics: string[], qos: 0 | 1 = 1): Promise<void> {
    const granted = await this.client.subscribeAsync(topics, { qos });
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new BrokerError(`broker refused subscription to ${refused.join(', ')}`);
  }

  async publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: options.qos, retain: options.retain ?? false });
  }

  async close(force = false): Promise<void> {
    await this.client.endAsync(force);
  }
}

/** ChunkTransport over an agent's MqttLink. */
export function mqttChunkTransport(link: MqttLink, deviceId: string): ChunkTransport {
  return {
    async subscribeChunks(bundleSha256, onFrame) {
      const topic = chunkTopic(bundleSha256);
      link.route(topic, (_topic, payload) => onFrame(payload));
      await link.subscribe([topic], 1);
      return async () => {
        link.unroute(topic);
        if (link.connected) await link.client.unsubscribeAsync(topic);
      };
    },
    async requestChunks(bundleSha256, indices) {
      const request: ChunkRequest = { v: 1, bundle: bundleSha256, chunks: indices };
      // QoS 0: a request is idempotent and the download re-requests what does not arrive in time
      // (and everything in flight after a reconnect). At QoS 1 the client would also re-send
      // unacknowledged requests after a reconnect, so each such chunk would come twice (§chunk-request).
      await link.publish(deviceTopic(deviceId, 'chunks/request'), encodeJson(request), { qos: 0 });
    },
    isConnected: () => link.connected,
    onConnectionChange: (listener) => link.onConnectionChange(listener),
  };
}
