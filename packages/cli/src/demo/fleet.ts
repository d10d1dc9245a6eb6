// The demo's fleet: `edgeloop serve` and three `edgeloop device` child processes on the field
// folders, deploys through `edgeloop deploy`, and the measurements read back from them.
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildGroup, CliChild, OutputLine } from './children.js';

export interface FleetOptions {
  serverDir: string;
  devicesDir: string;
  configsDir: string;
  publicKeyPem: string;
  profile: string;
  fps: number;
  sampleBaseline: number;
}

export interface DeployResult {
  status: string;
  succeeded: string[];
  waves: number[];
  failed: Record<string, string>;
  seconds: number;
}

interface IndexEntry {
  id: string;
  deviceId: string;
  sha256: string;
}

export class DemoFleet {
  serve?: CliChild;
  readonly devices = new Map<string, CliChild>();

  constructor(readonly children: ChildGroup, readonly ids: readonly string[], readonly options: FleetOptions, readonly signal: AbortSignal) {}

  async start(sources: readonly string[]): Promise<string> {
    const { serverDir } = this.options;
    await mkdir(join(serverDir, 'trust'), { recursive: true });
    await writeFile(join(serverDir, 'trust', 'release.pub'), this.options.publicKeyPem);
    const serve = this.children.start('edgeloop serve', ['serve', '-d', serverDir, '--host', '127.0.0.1', '--port', '0', '--json']);
    this.serve = serve;
    const url = await serve.waitFor(() => /"url": "(mqtts?:\/\/[^"]+)"/.exec(serve.stdout)?.[1], 'the server to listen', 30_000, this.signal);
    await mkdir(this.options.configsDir, { recursive: true });
    for (const id of this.ids) {
      const config = join(this.options.configsDir, `${id}.json`);
      const r = await this.children.run(`device provision ${id}`, ['device', 'provision', id, '-d', serverDir, '-o', config, '--profile', this.options.profile, '--json'], 60_000, this.signal);
      if (r.code !== 0) throw new Error(`device provision ${id} failed: ${tail(r.stderr)}`);
    }
    for (const [i, id] of this.ids.entries()) {
      const device = this.children.start(`device ${id}`, [
        'device', '-c', join(this.options.configsDir, `${id}.json`), '-d', join(this.options.devicesDir, id), '-s', sources[i], '--loop',
        '--fps', String(this.options.fps), '--watch-frames', '8', '--watch-seconds', '4', '--telemetry-interval', '2',
        '--samples-per-minute', '600', '--sample-baseline', String(this.options.sampleBaseline), '--json',
      ]);
      this.devices.set(id, device);
    }
    for (const [id, d] of this.devices) await d.waitFor(() => d.lastLine((l) => l.type === 'started'), `${id} to start`, 60_000, this.signal);
    return url;
  }

  /** `edgeloop deploy` (with --canary when given); throws unless every device succeeded. */
  async deploy(bundle: string, canary?: string): Promise<DeployResult> {
    const started = performance.now();
    const args = ['deploy', bundle, '-d', this.options.serverDir, '--max-failures', '0', '--wave-timeout', '120', '--json', ...(canary !== undefined ? ['--canary', canary] : [])];
    const r = await this.children.run('edgeloop deploy', args, 300_000, this.signal);
    let parsed: Partial<DeployResult>;
    try {
      parsed = JSON.parse(r.stdout) as Partial<DeployResult>;
    } catch {
      throw new Error(`edgeloop deploy exited ${r.code}: ${tail(r.stderr)}`);
    }
    const result: DeployResult = { status: parsed.status ?? 'unknown', succeeded: parsed.succeeded ?? [], waves: parsed.waves ?? [], failed: parsed.failed ?? {}, seconds: (performance.now() - started) / 1000 };
    if (r.code !== 0 || result.status !== 'done' || result.succeeded.length !== this.ids.length) {
      throw new Error(`deploy of ${bundle} ended ${result.status}: failed ${JSON.stringify(result.failed)} ${tail(r.stderr)}`);
    }
    return result;
  }

  /** Waits until every device serves `version` and has inferred with it. */
  async waitServing(version: number, timeoutMs: number): Promise<void> {
    const isVersion = (l: OutputLine): boolean => (l.model as { version?: number } | null)?.version === version;
    for (const [id, d] of this.devices) {
      await d.waitFor(() => d.lastLine((l) => l.type === 'summary' && isVersion(l) && (l.frames as number) > 0), `${id} to infer with v${version}`, timeoutMs, this.signal);
    }
  }

  async storedSamples(): Promise<IndexEntry[]> {
    const text = await readFile(join(this.options.serverDir, 'samples', 'index.jsonl'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as IndexEntry);
  }

  /** Polls the server's sample index until `target` samples are stored or `timeoutMs` passes. */
  async waitForSamples(target: number, timeoutMs: number, onProgress: (n: number) => void): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    for (;;) {
      const n = (await this.storedSamples()).length;
      if (n !== last) onProgress(n);
      last = n;
      if (n >= target || Date.now() >= deadline) return n;
      await sleep(1000, this.signal);
    }
  }

  async exportSamples(out: string): Promise<{ exported: number; bytes: number }> {
    const r = await this.children.run('samples export', ['samples', 'export', '-d', this.options.serverDir, '-o', out, '--json'], 120_000, this.signal);
    if (r.code !== 0) throw new Error(`samples export failed: ${tail(r.stderr)}`);
    const { exported } = JSON.parse(r.stdout) as { exported: number };
    let bytes = 0;
    for (const name of await readdir(out)) if (name.endsWith('.jpg')) bytes += (await stat(join(out, name))).size;
    return { exported, bytes };
  }

  async fleetVersions(): Promise<Record<string, number | null>> {
    const r = await this.children.run('fleet status', ['fleet', 'status', '-d', this.options.serverDir, '--json'], 60_000, this.signal);
    if (r.code !== 0) throw new Error(`fleet status failed: ${tail(r.stderr)}`);
    const status = JSON.parse(r.stdout) as { devices: { id: string; version: number | null }[] };
    return Object.fromEntries(status.devices.map((d) => [d.id, d.version]));
  }

  /** Bundle bytes each device received (its `downloaded` events' stats). */
  bytesDownloaded(id: string): number {
    const d = this.devices.get(id)!;
    return d.lines
      .filter((l) => l.type === 'event' && (l.event as { phase?: string }).phase === 'downloaded')
      .reduce((n, l) => n + ((l.event as { stats?: { bytesReceived?: number } }).stats?.bytesReceived ?? 0), 0);
  }

  lastSummary(id: string, version: number): { latencyMsP50: number; fps: number; frames: number } | undefined {
    const l = this.devices.get(id)!.lastLine((x) => x.type === 'summary' && (x.model as { version?: number } | null)?.version === version);
    return l === undefined ? undefined : { latencyMsP50: l.latencyMsP50 as number, fps: l.fps as number, frames: l.frames as number };
  }

  /** Stops the devices (SIGTERM: the agent closes its spool and link), then accounts for every captured sample. */
  async stopDevicesAndAccount(): Promise<SampleAccounting[]> {
    await Promise.all([...this.devices.values()].map((d) => this.children.stop(d)));
    // Each device's JSON lines stay with the working files, for a look after the run.
    for (const [id, d] of this.devices) await writeFile(join(this.options.devicesDir, `${id}.jsonl`), d.stdout);
    const stored = await this.storedSamples();
    const rows: SampleAccounting[] = [];
    for (const [id, d] of this.devices) {
      const captured = new Set(d.lines.filter((l) => l.type === 'sample').map((l) => l.id as string));
      const storedIds = new Set(stored.filter((e) => e.deviceId === id).map((e) => e.id));
      const spoolDir = join(this.options.devicesDir, id, 'spool');
      const spooled = new Set((await readdir(spoolDir).catch(() => [] as string[])).filter((n) => n.endsWith('.jpg')).map((n) => n.slice(0, -4)));
      let storedOfCaptured = 0;
      let stillSpooled = 0;
      let lost = 0;
      for (const sampleId of captured) {
        if (storedIds.has(sampleId)) storedOfCaptured++;
        else if (spooled.has(sampleId)) stillSpooled++;
        else lost++;
      }
      rows.push({ device: id, captured: captured.size, stored: storedOfCaptured, stillSpooled, lost });
    }
    return rows;
  }
}

export interface SampleAccounting {
  device: string;
  captured: number;
  stored: number;
  stillSpooled: number;
  /** Captured, but neither stored by the server nor still in the device's spool. */
  lost: number;
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('interrupted'));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The last lines of a child's stderr, on one line (the first line of a Node crash names no cause). */
function tail(stderr: string): string {
  return stderr.trim().split('\n').slice(-4).join(' | ');
}
