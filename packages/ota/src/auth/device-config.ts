// The file a device runs from (docs/ota-protocol.md §device-config): its id, the broker URL, its
// credentials (issued once) and the public keys it accepts bundle signatures from. Written by
// `edgeloop device provision`, read by `edgeloop device --config`.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { TrustStore, writeJsonAtomic } from '@edgeloop/bundle';

import { CredentialsError } from '../errors.js';
import { registerDevice } from '../server/registry.js';
import type { DeviceRecord } from '../server/registry.js';
import { assertDeviceId } from '../topics.js';
import { provisionDevice } from './credentials.js';

export interface DeviceConfig {
  v: 1;
  id: string;
  server: { url: string; username: string; password: string; ca?: string };
  /** Ed25519 public keys (PEM) whose bundle signatures the device accepts. */
  trustedKeys: string[];
  /** Device profile name (devices/<name>.json); `edgeloop device --profile` overrides it. */
  profile?: string;
}

export interface ProvisionDeviceConfigOptions {
  /** Broker URL the device connects to (default: the URL `edgeloop serve` recorded in serve.json). */
  serverUrl?: string;
  /** Public key files or folders; default `<dataDir>/trust/`. */
  trust?: string[];
  fleet?: string;
  tags?: string[];
  profile?: string;
  /** CA certificate file for mqtts:// brokers with a private CA. */
  caFile?: string;
}

/** The server's own record of where it listens (written by serveFleet). */
export interface ServeInfo {
  url: string;
  pid: number;
  startedAt: string;
}

export function serveInfoPath(dataDir: string): string {
  return join(dataDir, 'serve.json');
}

/** Issues a device's credentials, records its fleet and tags, and returns its config (the password appears only here). */
export async function provisionDeviceConfig(dataDir: string, deviceId: string, options: ProvisionDeviceConfigOptions = {}): Promise<{ config: DeviceConfig; record: DeviceRecord }> {
  assertDeviceId(deviceId);
  const trustPaths = options.trust ?? [join(dataDir, 'trust')];
  if (options.trust === undefined && !(await stat(trustPaths[0]).then((s) => s.isDirectory(), () => false))) {
    throw new CredentialsError(`no trusted keys: pass --trust <key.pub or folder>, or put the release keys in ${trustPaths[0]}`);
  }
  const trust = await TrustStore.fromPaths(trustPaths);
  if (trust.size === 0) throw new CredentialsError(`no public keys found in ${trustPaths.join(', ')}`);
  const trustedKeys = trust.keyIds().map((id) => trust.get(id)!.export({ type: 'spki', format: 'pem' }).toString());
  let url = options.serverUrl;
  if (url === undefined) {
    const info = await readFile(serveInfoPath(dataDir), 'utf8').then((t) => JSON.parse(t) as ServeInfo, () => undefined);
    if (info === undefined) throw new CredentialsError(`no server URL: pass --server-url, or start \`edgeloop serve --data-dir ${dataDir}\` first`);
    url = info.url;
  }
  const record = await registerDevice(dataDir, deviceId, { ...(options.fleet !== undefined ? { fleet: options.fleet } : {}), tags: options.tags ?? [] });
  const issued = await provisionDevice(dataDir, deviceId);
  const config: DeviceConfig = { v: 1, id: deviceId, server: { url, username: deviceId, password: issued.password }, trustedKeys };
  if (options.caFile !== undefined) config.server.ca = await readFile(options.caFile, 'utf8');
  if (options.profile !== undefined) config.profile = options.profile;
  return { config, record };
}

export async function writeDeviceConfig(path: string, config: DeviceConfig): Promise<void> {
  // It holds a secret: owner-only.
  await writeJsonAtomic(path, config, { mode: 0o600 });
}

export async function readDeviceConfig(path: string): Promise<DeviceConfig> {
  let parsed: DeviceConfig;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as DeviceConfig;
  } catch (error) {
    throw new CredentialsError(`cannot read device config ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (parsed.v !== 1 || typeof parsed.id !== 'string' || typeof parsed.server?.url !== 'string' || typeof parsed.server.password !== 'string' || !Array.isArray(parsed.trustedKeys)) {
    throw new CredentialsError(`${path} is not a device config (edgeloop device provision writes one)`);
  }
  return parsed;
}
