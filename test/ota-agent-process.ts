// The parent side of test/ota-agent-child.ts: spawns a device agent process, collects its JSON
// lines, waits for lines, and kills it with SIGKILL.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import type { InstallEvent } from '@edgeloop/ota';

const CHILD = new URL('./ota-agent-child.js', import.meta.url).pathname;

export type Line =
  | { type: 'event'; event: InstallEvent }
  | { type: 'progress'; verified: number; total: number }
  | { type: 'started'; serving: number | null }
  | { type: 'online' }
  | { type: 'acked-evicted'; id: string }
  | { type: 'inferred'; version: number; prediction: { classIndex?: number; score?: number } }
  | { type: 'capture-resumed' | 'capture-done'; next: number }
  | { type: 'captured'; seq: number; id: string | null; evicted: number; reason?: string };

export class AgentProcess {
  readonly lines: Line[] = [];
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private readonly exited: Promise<void>;
  /** Called for every line as it arrives. */
  onLine: ((line: Line) => void) | undefined;

  constructor(config: object) {
    this.child = spawn(process.execPath, [CHILD], { env: { ...process.env, EDGELOOP_AGENT_CHILD: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'inherit'] });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Line;
      this.lines.push(line);
      this.onLine?.(line);
      for (const waiter of this.waiters) waiter();
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first line matching `predicate` (already seen ones included). */
  waitFor(predicate: (line: Line) => boolean, timeoutMs = 30_000): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.lines.find(predicate);
        if (found === undefined) return false;
        clearTimeout(timer);
        this.waiters.delete(onLine);
        resolve(found);
        return true;
      };
      const onLine = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(onLine);
        reject(new Error(`child: timed out; last lines ${JSON.stringify(this.lines.slice(-3))}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(onLine);
    });
  }

  event(phase: string): (line: Line) => boolean {
    return (line) => line.type === 'event' && line.event.phase === phase;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
