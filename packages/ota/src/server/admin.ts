// How commands reach a running fleet server (docs/ota-protocol.md §admin): through its data
// directory. A command writes admin/requests/<id>.json atomically; the server takes it (rename to
// admin/taken/), acts, and writes admin/responses/<id>.json. Whoever may write the data directory
// may command the fleet; no network port is opened for administration.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { serveInfoPath } from '../auth/device-config.js';
import { RolloutError, reasonOf } from '../errors.js';
import { writeJsonAtomic } from '@edgeloop/bundle';
import type { DeviceSelector } from './registry.js';
import type { DeployOptions, RollbackResult, RolloutManager, RolloutRecord } from './rollout.js';

export type AdminRequest =
  | { v: 1; id: string; kind: 'deploy'; bundle: string; options: DeployOptions }
  | { v: 1; id: string; kind: 'rollback'; selector: DeviceSelector };

export type AdminResponse =
  | { v: 1; id: string; ok: true; rollout?: string; rollback?: RollbackResult }
  | { v: 1; id: string; ok: false; error: { code: string; message: string } };

const dirs = (dataDir: string): { requests: string; taken: string; responses: string } => ({
  requests: join(dataDir, 'admin', 'requests'),
  taken: join(dataDir, 'admin', 'taken'),
  responses: join(dataDir, 'admin', 'responses'),
});

/** The server side: polls admin/requests/ and hands each request to the rollout manager. */
export class AdminInbox {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(readonly dataDir: string, private readonly rollouts: RolloutManager) {}

  async start(pollMs = 200): Promise<void> {
    const d = dirs(this.dataDir);
    for (const dir of Object.values(d)) await mkdir(dir, { recursive: true });
    this.timer = setInterval(() => void this.poll(), pollMs);
    await this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const d = dirs(this.dataDir);
      for (const name of (await readdir(d.requests)).filter((n) => n.endsWith('.json')).sort()) {
        const taken = join(d.taken, name);
        try {
          await rename(join(d.requests, name), taken);
        } catch {
          continue; // another server took it
        }
        await this.handle(taken);
      }
    } catch {
      // The directory vanished or is unreadable: try again on the next tick.
    } finally {
      this.busy = false;
    }
  }

  private async handle(path: string): Promise<void> {
    let request: AdminRequest;
    try {
      request = JSON.parse(await readFile(path, 'utf8')) as AdminRequest;
    } catch {
      return;
    }
    let response: AdminResponse;
    try {
      if (request.kind === 'deploy') {
        const { record, done } = await this.rollouts.start(request.bundle, { ...request.options, id: request.id });
        done.catch(() => undefined);
        response = { v: 1, id: request.id, ok: true, rollout: record.id };
      } else if (request.kind === 'rollback') {
        response = { v: 1, id: request.id, ok: true, rollback: await this.rollouts.rollback(request.selector) };
      } else {
        throw new RolloutError(`unknown admin request ${JSON.stringify((request as { kind?: unknown }).kind)}`);
      }
    } catch (error) {
      response = { v: 1, id: request.id, ok: false, error: reasonOf(error) };
    }
    await writeJsonAtomic(join(dirs(this.dataDir).responses, `${request.id}.json`), response);
  }
}

export interface AdminClientOptions {
  /** How long to wait for a server to take the request (default 10 s). */
  acceptTimeoutMs?: number;
  pollMs?: number;
}

async function submit(dataDir: string, request: AdminRequest, options: AdminClientOptions): Promise<AdminResponse & { ok: true }> {
  const d = dirs(dataDir);
  // serve.json is written by the first `edgeloop serve`: without it this is no server's directory.
  if (!(await stat(serveInfoPath(dataDir)).then(() => true, () => false))) {
    throw new RolloutError(`${dataDir} is not a fleet server data directory (no serve.json; start \`edgeloop serve --data-dir ${dataDir}\`)`);
  }
  await writeJsonAtomic(join(d.requests, `${request.id}.json`), request, { mode: 0o600 });
  const deadline = Date.now() + (options.acceptTimeoutMs ?? 10_000);
  for (;;) {
    const text = await readFile(join(d.responses, `${request.id}.json`), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const response = JSON.parse(text) as AdminResponse;
      if (!response.ok) throw new RolloutError(response.error.message);
      return response;
    }
    if (Date.now() > deadline) {
      // Withdraw the request so a server started later does not act on a command given up on.
      const pending = await rename(join(d.requests, `${request.id}.json`), join(d.requests, `${request.id}.withdrawn`)).then(() => true, () => false);
      throw new RolloutError(pending ? `no fleet server is serving ${dataDir} (start \`edgeloop serve --data-dir ${dataDir}\`)` : `the fleet server took the request but did not answer within ${options.acceptTimeoutMs ?? 10_000} ms`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}

/** Asks the server serving `dataDir` to start a rollout; returns the rollout record once the server accepted it. */
export async function requestDeploy(dataDir: string, bundlePath: string, options: DeployOptions = {}, client: AdminClientOptions = {}): Promise<RolloutRecord> {
  const id = options.id ?? randomUUID();
  const response = await submit(dataDir, { v: 1, id, kind: 'deploy', bundle: resolve(bundlePath), options: { ...options, id } }, client);
  const record = await readRollout(dataDir, response.rollout ?? id);
  if (record === undefined) throw new RolloutError(`rollout ${id} was accepted but has no record`);
  return record;
}

/** Waits until a rollout is done or halted (polling its record), reporting each change. */
export async function waitForRollout(dataDir: string, id: string, options: { timeoutMs?: number; pollMs?: number; onChange?: (r: RolloutRecord) => void } = {}): Promise<RolloutRecord> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const record = await readRollout(dataDir, id);
    if (record !== undefined) {
      const key = JSON.stringify(record.outcomes) + record.status;
      if (key !== last) {
        last = key;
        options.onChange?.(record);
      }
      if (record.status !== 'running') return record;
    }
    if (Date.now() > deadline) throw new RolloutError(`rollout ${id} still running after ${options.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
}

export async function readRollout(dataDir: string, id: string): Promise<RolloutRecord | undefined> {
  const text = await readFile(join(dataDir, 'rollouts', `${id}.json`), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as RolloutRecord);
}

/** Asks the server serving `dataDir` to roll the selected devices back (§rollback). */
export async function requestRollback(dataDir: string, selector: DeviceSelector = {}, client: AdminClientOptions = {}): Promise<RollbackResult> {
  const response = await submit(dataDir, { v: 1, id: randomUUID(), kind: 'rollback', selector }, client);
  return response.rollback ?? { rolledBack: {}, skipped: {} };
}
