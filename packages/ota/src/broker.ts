// The embedded broker: aedes over TCP (or TLS) on a loopback/private address, with the
// credentials of auth/credentials.ts and the rules of auth/acl.ts (docs/ota-protocol.md §acl).
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TlsOptions } from 'node:tls';

import { Aedes } from 'aedes';
import type { AuthenticateError, Client } from 'aedes';

import { mayPublish, maySubscribe } from './auth/acl.js';
import type { BundleAssignments, Identity } from './auth/acl.js';
import { CredentialVerifier } from './auth/credentials.js';
import type { CredentialVerifierStats } from './auth/credentials.js';
import { BrokerError } from './errors.js';
import { DropCounter } from './schemas.js';

export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export interface BrokerOptions {
  /**
   * Server data dir holding auth/credentials.json. The parsed file is cached and read again when it
   * changes on disk (checked on every CONNECT), so devices provisioned or revoked meanwhile, by
   * this process or another, count at once.
   */
  dataDir: string;
  /** Most scrypt password checks running at once (default 2); further CONNECTs wait their turn. */
  maxConcurrentAuthChecks?: number;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  tls?: TlsOptions;
  /** Who may read which bundle's chunks; defaults to nobody. */
  assignments?: BundleAssignments;
  /** Largest PUBLISH payload accepted from a client (default 1 MiB); larger ones close the connection. */
  maxPacketBytes?: number;
}

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly aedes: Aedes;
  /** Refused connects, publishes and subscriptions by reason. */
  readonly refusals: DropCounter;
  /** Credential file loads, scrypt checks, cache hits (see CredentialVerifier). */
  readonly authStats: CredentialVerifierStats;
  /** Drops the cached credential file and verified secrets (after rotating or revoking credentials). */
  reloadCredentials(): void;
  setAssignments(assignments: BundleAssignments): void;
  close(): Promise<void>;
}

const identities = new WeakMap<Client, Identity>();
const NOBODY: BundleAssignments = { isAssigned: () => false };

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const host = options.host ?? '127.0.0.1';
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  let assignments = options.assignments ?? NOBODY;
  const refusals = new DropCounter();
  const verifier = new CredentialVerifier(options.dataDir, { maxConcurrentChecks: options.maxConcurrentAuthChecks });

  const aedes = await Aedes.createBroker({
    // A device on a slow link must not stall delivery to everyone else.
    drainTimeout: 30_000,
    concurrency: 200,
    maxClientsIdLength: 64,
    authenticate: (client, username, password, done) => {
      const fail = (code: 4 | 5, reason: string): void => {
        refusals.count(reason);
        const error = new Error(reason) as AuthenticateError;
        error.returnCode = code;
        done(error, false);
      };
      // A check still queued when the client has gone (connect timeout, reconnect) is not run.
      verifier.verify(username, password, () => client.closed)
        .then((role) => {
          if (role === null) return fail(username === undefined ? 5 : 4, username === undefined ? 'connect:anonymous' : 'connect:bad-credentials');
          // A device's client id must be its own id: no session takeover of another device.
          if (role === 'device' && client.id !== username) return fail(5, 'connect:client-id');
          const identity: Identity = { role, id: username as string };
          // The will is published in the client's name later; refuse one it could not publish itself.
          const will = (client as unknown as { _will?: { topic?: string } | null })._will;
          if (will?.topic !== undefined && !mayPublish(identity, will.topic)) return fail(5, 'connect:will');
          identities.set(client, identity);
          done(null, true);
        })
        .catch(() => fail(5, 'connect:error'));
    },
    authorizePublish: (client, packet, callback) => {
      const identity = client === null ? undefined : identities.get(client);
      if (identity === undefined) {
        // client === null: aedes re-publishing a last will; wills were authorized at connect.
        if (client === null) return callback(null);
        refusals.count('publish:unauthenticated');
        return callback(new Error('not authenticated'));
      }
      if (!mayPublish(identity, packet.topic)) {
        refusals.count('publish:acl');
        return callback(new Error(`publish to ${packet.topic} not allowed`));
      }
      if (packet.payload.length > maxPacketBytes) {
        refusals.count('publish:too-large');
        return callback(new Error('payload too large'));
      }
      callback(null);
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const identity = identities.get(client);
      if (identity === undefined || !maySubscribe(identity, subscription.topic, assignments)) {
        refusals.count('subscribe:acl');
        // null = SUBACK 0x80 for this filter; the connection stays up.
        return callback(null, null);
      }
      callback(null, subscription);
    },
    authorizeForward: (client, packet) => {
      // Retained chunk topics do not exist, but re-check reads at delivery: assignments change.
      const identity = identities.get(client);
      if (identity === undefined) return null;
      if (identity.role === 'device' && !maySubscribe(identity, packet.topic, assignments)) return null;
      return packet;
    },
  });

  const server: Server = options.tls === undefined ? createTcpServer(aedes.handle) : createTlsServer(options.tls, aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    aedes.close();
    throw new BrokerError(`cannot listen on ${host}:${options.port ?? 0}`, { cause: error });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls === undefined ? 'mqtt' : 'mqtts';

  return {
    host,
    port,
    url: `${scheme}://${host}:${port}`,
    aedes,
    refusals,
    authStats: verifier.stats,
    reloadCredentials() {
      verifier.reload();
    },
    setAssignments(next) {
      assignments = next;
    },
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
