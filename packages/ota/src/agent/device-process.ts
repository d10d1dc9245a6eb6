// `edgeloop device`: one device's whole process. The agent keeps the MQTT session and installs
// bundles (§install) with the RuntimeModelHost; meanwhile the runtime's Runner infers on the
// source's frames through that host (a swap lands between two frames), its field sampler spools
// chosen frames into the agent's spool, and the agent uploads them (§sample-upload).
import { TrustStore } from '@edgeloop/bundle';
import { FieldSampler, Runner, describeError, openSource } from '@edgeloop/runtime';
import type { FrameOutcome, OpenSourceOptions, RunSummary, SamplerOptions } from '@edgeloop/runtime';

import type { DeviceConfig } from '../auth/device-config.js';
import { CredentialsError } from '../errors.js';
import { AGENT_VERSION, DeviceAgent } from './agent.js';
import type { DeviceAgentOptions } from './agent.js';
import { RuntimeModelHost } from './runtime-host.js';
import type { WatchOptions } from './runtime-host.js';

export interface RunDeviceOptions {
  config: DeviceConfig;
  /** The device's data directory (slots, state, downloads, spool). */
  dataDir: string;
  /** Frames to infer on (folder, image, video, MJPEG URL, v4l2:, rtsp://); none: install only. */
  source?: string;
  /** Device profile name or path (default: the config's). */
  profile?: string;
  profilesDir?: string;
  /** Folder and file sources: replay rate and looping. */
  fps?: number;
  loop?: boolean;
  watch?: WatchOptions | false;
  /** Field sampler options; false disables sampling. */
  sampler?: SamplerOptions | false;
  /** Telemetry period (default 10 s). */
  telemetryIntervalMs?: number;
  /** Extra agent tuning (download window, timeouts…). */
  agent?: Partial<Pick<DeviceAgentOptions, 'window' | 'requestTimeoutMs' | 'spool' | 'sampleAckTimeoutMs'>>;
  signal?: AbortSignal;
}

export interface DeviceOutput {
  /** One JSON object per line, `type` first: started, serving, event, watch, summary, sample, source-error, stopped. */
  line(value: { type: string } & Record<string, unknown>): void;
}

/** Runs until `signal` aborts; returns the last inference summary (null when nothing ran). */
export async function runDevice(options: RunDeviceOptions, output: DeviceOutput): Promise<RunSummary | null> {
  const { config } = options;
  const profile = options.profile ?? config.profile;
  if (profile === undefined) throw new CredentialsError('no device profile: pass --profile (or provision the device with --profile)');
  const trust = TrustStore.fromPems(config.trustedKeys);
  const host = new RuntimeModelHost({ trust, profile, ...(options.profilesDir !== undefined ? { profilesDir: options.profilesDir } : {}), ...(options.watch !== undefined ? { watch: options.watch } : {}) });
  const agent = new DeviceAgent({
    dataDir: options.dataDir,
    deviceId: config.id,
    profile,
    trust,
    host,
    broker: { url: config.server.url, username: config.server.username, password: config.server.password, ...(config.server.ca !== undefined ? { ca: config.server.ca } : {}) },
    ...options.agent,
  });
  // A runner follows the host: restarted when a model starts serving, stopped when none serves.
  let runnerAbort: AbortController | undefined;
  let servingChanged: () => void = () => undefined;
  host.on('serving', (manifest) => {
    output.line({ type: 'serving', model: manifest === null ? null : { name: manifest.name, version: manifest.version } });
    if (manifest === null) runnerAbort?.abort();
    servingChanged();
  });
  host.on('watch', (report) => output.line({ type: 'watch', report }));
  agent.on('event', (event) => output.line({ type: 'event', event }));

  const signal = options.signal;
  const stopped = new Promise<void>((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await agent.start();
  output.line({ type: 'started', deviceId: config.id, agent: AGENT_VERSION, profile, serving: host.serving ? { name: host.manifest.name, version: host.manifest.version } : null });

  let last: RunSummary | null = null;
  try {
    if (options.source !== undefined) {
      const sourceOptions: OpenSourceOptions = { ...(options.fps !== undefined ? { fps: options.fps } : {}), ...(options.loop !== undefined ? { loop: options.loop } : {}) };
      const sampler = options.sampler === false ? undefined : new FieldSampler(options.sampler ?? {});
      while (signal?.aborted !== true) {
        if (!host.serving) {
          await Promise.race([stopped, new Promise<void>((resolve) => (servingChanged = resolve))]);
          continue;
        }
        runnerAbort = new AbortController();
        const onStop = (): void => runnerAbort?.abort();
        signal?.addEventListener('abort', onStop, { once: true });
        const runner = new Runner({
          engine: host,
          source: await openSource(options.source, sourceOptions),
          ...(sampler !== undefined ? { sampler, spool: agent.spool } : {}),
          signal: runnerAbort.signal,
          summaryIntervalMs: options.telemetryIntervalMs ?? 10_000,
          onSummary: (summary) => {
            last = summary;
            output.line({ type: 'summary', frames: summary.frames, fps: summary.fps, latencyMsP50: summary.latencyMs.total.p50, model: summary.model ?? null });
            void agent.publishTelemetry({ fps: summary.fps, frames: summary.frames, latencyMsP50: summary.latencyMs.total.p50, inferenceErrors: summary.inferenceErrors, spoolCount: summary.samples.spoolCount }).catch(() => undefined);
          },
          onSample: (outcome) => {
            if (outcome.spooled !== undefined) {
              agent.samplesAdded();
              output.line({ type: 'sample', id: outcome.spooled, reasons: outcome.decision.reasons });
            }
          },
          onFrame: (outcome: FrameOutcome) => {
            if (outcome.status === 'skipped' && outcome.reason === 'inference' && !host.serving) runnerAbort?.abort();
          },
        });
        try {
          last = await runner.run();
        } catch (error) {
          output.line({ type: 'source-error', error: describeError(error) });
          await new Promise((r) => setTimeout(r, 1000));
        } finally {
          signal?.removeEventListener('abort', onStop);
        }
        // A finite source (a folder without --loop) ends the inference; the agent keeps running.
        if (options.loop !== true && runnerAbort.signal.aborted === false) break;
      }
    }
    await stopped;
  } finally {
    runnerAbort?.abort();
    await agent.stop();
    await host.close();
    output.line({ type: 'stopped', deviceId: config.id });
  }
  return last;
}
