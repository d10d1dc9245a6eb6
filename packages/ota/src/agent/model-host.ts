// What the agent needs from whatever serves the model (docs/ota-protocol.md §install 5-7). The
// runtime will implement this with real inference; BundleModelHost is the implementation that
// exists today: it verifies the bundle with openBundle and reads every golden tensor.
import { openBundle } from '@edgeloop/bundle';
import type { OpenedBundle, TrustStore } from '@edgeloop/bundle';

export interface HealthCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface HealthReport {
  ok: boolean;
  checks: HealthCheck[];
}

export interface ModelHost {
  /** Starts serving the bundle the active pointer names at agent start (null: nothing installed). */
  load(bundlePath: string | null): Promise<void>;
  /** Loads a bundle beside the serving one and checks it; must not disturb serving. */
  stage(bundlePath: string): Promise<HealthReport>;
  /** Makes the last staged bundle the serving one. */
  activate(): Promise<void>;
  /** Serves again what was served before the last activate. */
  rollback(): Promise<void>;
  close(): Promise<void>;
}

/** Serves nothing but keeps which verified bundle "serves", so the agent's switching can be observed. */
export class BundleModelHost implements ModelHost {
  private serving: OpenedBundle | null = null;
  private staged: OpenedBundle | null = null;
  private previous: OpenedBundle | null = null;

  constructor(private readonly trust: TrustStore) {}

  get servingBundle(): OpenedBundle | null {
    return this.serving;
  }

  async load(bundlePath: string | null): Promise<void> {
    this.serving = bundlePath === null ? null : await openBundle(bundlePath, { trust: this.trust });
  }

  async stage(bundlePath: string): Promise<HealthReport> {
    const checks: HealthCheck[] = [];
    let opened: OpenedBundle;
    try {
      opened = await openBundle(bundlePath, { trust: this.trust });
      checks.push({ name: 'open', ok: true });
    } catch (error) {
      return { ok: false, checks: [{ name: 'open', ok: false, detail: (error as Error).message }] };
    }
    for (const [i, sample] of opened.manifest.golden.entries()) {
      for (const [name, ref] of [...Object.entries(sample.inputs), ...Object.entries(sample.outputs)]) {
        try {
          await opened.readTensor(ref);
          checks.push({ name: `golden[${i}].${name}`, ok: true });
        } catch (error) {
          checks.push({ name: `golden[${i}].${name}`, ok: false, detail: (error as Error).message });
        }
      }
    }
    const ok = checks.every((c) => c.ok);
    if (ok) this.staged = opened;
    return { ok, checks };
  }

  async activate(): Promise<void> {
    if (this.staged === null) throw new Error('nothing staged to activate');
    this.previous = this.serving;
    this.serving = this.staged;
    this.staged = null;
  }

  async rollback(): Promise<void> {
    this.serving = this.previous;
    this.previous = null;
  }

  async close(): Promise<void> {
    this.serving = null;
    this.staged = null;
    this.previous = null;
  }
}
