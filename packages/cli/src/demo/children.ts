// The demo's child processes (`edgeloop serve`, three `edgeloop device`, one-shot commands). Each
// child leads its own process group, so a Ctrl-C in the terminal reaches the demo only and the
// demo stops every group it started: SIGTERM first (devices and the server shut down cleanly),
// SIGKILL after a grace period, and a synchronous SIGKILL of whatever is left when the demo exits.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../main.js', import.meta.url));

export interface OutputLine {
  type: string;
  [key: string]: unknown;
}

/** A long-running `edgeloop … --json` child: its stdout parsed as JSON lines. */
export class CliChild {
  readonly lines: OutputLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  #listeners = new Set<() => void>();

  constructor(readonly name: string, readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stdout += text;
      buffer += text;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as unknown;
          if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { type?: unknown }).type === 'string') this.lines.push(parsed as OutputLine);
        } catch {
          // Not a JSON line (serve prints one indented document); kept in `stdout`.
        }
      }
      this.#notify();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 64 * 1024) this.stderr = this.stderr.slice(-32 * 1024);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => {
      resolve(code);
      this.#notify();
    }));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  #notify(): void {
    for (const l of this.#listeners) l();
  }

  /** Resolves when `predicate` holds for the output so far; rejects on exit, timeout or abort. */
  async waitFor<T>(predicate: () => T | undefined, what: string, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        signal?.removeEventListener('abort', aborted);
      };
      const check = (): void => {
        const found = predicate();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`));
        }
      };
      const aborted = (): void => {
        done();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('interrupted'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out after ${timeoutMs / 1000} s waiting for ${what}`));
      }, timeoutMs);
      this.#listeners.add(check);
      signal?.addEventListener('abort', aborted, { once: true });
      check();
    });
  }

  lastLine(predicate: (line: OutputLine) => boolean): OutputLine | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) if (predicate(this.lines[i])) return this.lines[i];
    return undefined;
  }
}

/** Every child the demo started, stopped together. */
export class ChildGroup {
  readonly #children = new Set<CliChild>();
  readonly #exitHook = (): void => this.killNow();

  constructor() {
    process.on('exit', this.#exitHook);
  }

  /** Starts `edgeloop <args>` in its own process group. */
  start(name: string, args: string[], cwd?: string): CliChild {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(cwd !== undefined ? { cwd } : {}), env: { ...process.env, EDGELOOP_DEBUG: '' },
    });
    const c = new CliChild(name, child);
    this.#children.add(c);
    void c.exited.then(() => this.#children.delete(c));
    return c;
  }

  /** Runs `edgeloop <args>` to its end; resolves with its exit code and output. */
  async run(name: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const c = this.start(name, args);
    const onAbort = (): void => signalGroup(c.child, 'SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => signalGroup(c.child, 'SIGKILL'), timeoutMs);
    const code = await c.exited;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('interrupted');
    return { code, stdout: c.stdout, stderr: c.stderr };
  }

  get pids(): number[] {
    return [...this.#children].map((c) => c.child.pid).filter((p): p is number => p !== undefined);
  }

  /** Stops one child: SIGTERM to its group, SIGKILL after `graceMs`. */
  async stop(c: CliChild, graceMs = 5000): Promise<void> {
    if (!c.running) return;
    signalGroup(c.child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(c.child, 'SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(timer);
  }

  /** Stops every child (devices before the server when called in start order reversed). */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all([...this.#children].map((c) => this.stop(c, graceMs)));
    process.off('exit', this.#exitHook);
  }

  /** Last resort, synchronous: SIGKILL to every group still running. */
  killNow(): void {
    for (const c of this.#children) if (c.running) signalGroup(c.child, 'SIGKILL');
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
