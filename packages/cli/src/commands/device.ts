import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { provisionDeviceConfig, readDeviceConfig, runDevice, writeDeviceConfig } from '@edgeloop/ota';
import type { RunDeviceOptions } from '@edgeloop/ota';
import { emit, UsageError } from '../output.js';

interface ProvisionArgs {
  id: string;
  'data-dir': string;
  out: string;
  tag?: string[];
  fleet?: string;
  trust?: string[];
  'server-url'?: string;
  profile?: string;
  ca?: string;
  json: boolean;
}

const provision: CommandModule<object, ProvisionArgs> = {
  command: 'provision <id>',
  describe: "Issue a device's credentials and write its config (id, server URL, credentials, trusted keys)",
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'Device id ([a-z0-9][a-z0-9_.-]*)' })
      .option('data-dir', { alias: 'd', type: 'string', demandOption: true, describe: 'The server data directory' })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Where to write the device config (mode 0600: it holds a secret)' })
      .option('tag', { type: 'string', array: true, describe: 'Device tag for rollouts (repeatable)' })
      .option('fleet', { type: 'string', describe: 'Fleet name (default: default)' })
      .option('trust', { alias: 't', type: 'string', array: true, describe: 'Public key file or folder the device trusts (default: <data-dir>/trust/)' })
      .option('server-url', { type: 'string', describe: 'Broker URL for the device (default: the one `edgeloop serve` recorded)' })
      .option('profile', { type: 'string', describe: 'Device profile name (devices/<name>.json)' })
      .option('ca', { type: 'string', describe: 'CA certificate file for an mqtts:// broker' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 device provision cam-01 -d srv --tag lobby -t release.pub -o cam-01.json', 'Config for one camera'),
  handler: async (args) => {
    const { config, record } = await provisionDeviceConfig(args['data-dir'], args.id, {
      ...(args.tag !== undefined ? { tags: args.tag } : {}),
      ...(args.fleet !== undefined ? { fleet: args.fleet } : {}),
      ...(args.trust !== undefined ? { trust: args.trust } : {}),
      ...(args['server-url'] !== undefined ? { serverUrl: args['server-url'] } : {}),
      ...(args.profile !== undefined ? { profile: args.profile } : {}),
      ...(args.ca !== undefined ? { caFile: args.ca } : {}),
    });
    await writeDeviceConfig(args.out, config);
    emit(args, { id: record.id, fleet: record.fleet, tags: record.tags, server: config.server.url, trustedKeys: config.trustedKeys.length, config: resolve(args.out) }, (r) =>
      `provisioned ${r.id} (fleet ${r.fleet}${r.tags.length > 0 ? `, tags ${r.tags.join(', ')}` : ''}) for ${r.server}; config written to ${r.config}`,
    );
  },
};

interface DeviceArgs {
  config?: string;
  'data-dir'?: string;
  source?: string;
  profile?: string;
  fps?: number;
  loop: boolean;
  'watch-frames'?: number;
  'watch-seconds'?: number;
  'samples-per-minute'?: number;
  'sample-baseline'?: number;
  sampling: boolean;
  'telemetry-interval': number;
  json: boolean;
}

/** `edgeloop device --config … --data-dir … [--source …]`: the agent with the runtime; `device provision` issues configs. */
export const deviceCommand: CommandModule<object, DeviceArgs> = {
  command: 'device',
  describe: 'Run a device: the OTA agent with the runtime inferring on --source (or `device provision` a new one)',
  builder: (y: Argv) =>
    (y.command(provision as unknown as CommandModule) as Argv)
      .option('config', { alias: 'c', type: 'string', describe: 'Device config written by `edgeloop device provision`' })
      .option('data-dir', { alias: 'd', type: 'string', describe: 'The device data directory (slots, state, spool)' })
      .option('source', { alias: 's', type: 'string', describe: 'Frames: folder, glob, image, video file, http(s) MJPEG URL, v4l2:/dev/videoN or rtsp://…' })
      .option('profile', { type: 'string', describe: "Device profile (default: the config's)" })
      .option('fps', { type: 'number', describe: 'Replay folders/files at this rate' })
      .option('loop', { type: 'boolean', default: false, describe: 'Start folders and files again at the end' })
      .option('watch-frames', { type: 'number', describe: 'Watch window after an activation: frames (default 20)' })
      .option('watch-seconds', { type: 'number', describe: 'Watch window: seconds (default 10)' })
      .option('samples-per-minute', { type: 'number', describe: 'Field sampler rate limit (default 6)' })
      .option('sample-baseline', { type: 'number', describe: 'Fraction of frames sampled whatever their uncertainty (default 0.005)' })
      .option('sampling', { type: 'boolean', default: true, describe: 'Field sampling (--no-sampling disables it)' })
      .option('telemetry-interval', { type: 'number', default: 10, describe: 'Seconds between telemetry/summary lines' })
      .option('json', { type: 'boolean', default: false, describe: 'One JSON object per line' })
      .example('$0 device -c cam-01.json -d /var/lib/edgeloop-device -s v4l2:/dev/video0', 'A camera device'),
  handler: async (args) => {
    if (args.config === undefined || args['data-dir'] === undefined) throw new UsageError('device needs --config and --data-dir (or: device provision <id>)');
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const options: RunDeviceOptions = {
      config: await readDeviceConfig(args.config),
      dataDir: args['data-dir'],
      loop: args.loop,
      telemetryIntervalMs: args['telemetry-interval'] * 1000,
      signal: controller.signal,
      ...(args.source !== undefined ? { source: args.source } : {}),
      ...(args.profile !== undefined ? { profile: args.profile } : {}),
      ...(args.fps !== undefined ? { fps: args.fps } : {}),
    };
    if (args['watch-frames'] !== undefined || args['watch-seconds'] !== undefined) {
      options.watch = { ...(args['watch-frames'] !== undefined ? { frames: args['watch-frames'] } : {}), ...(args['watch-seconds'] !== undefined ? { ms: args['watch-seconds'] * 1000 } : {}) };
    }
    options.sampler = !args.sampling ? false : {
      ...(args['samples-per-minute'] !== undefined ? { ratePerMinute: args['samples-per-minute'] } : {}),
      ...(args['sample-baseline'] !== undefined ? { baselineRate: args['sample-baseline'] } : {}),
    };
    try {
      await runDevice(options, {
        line: (value) => process.stdout.write(`${args.json ? JSON.stringify(value) : deviceText(value)}\n`),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

function deviceText(value: { type: string } & Record<string, unknown>): string {
  const { type, ...rest } = value;
  if (type === 'event') {
    const e = rest.event as { phase: string; version: number | null; reason?: { code: string; message: string } };
    return `event ${e.phase} v${e.version ?? '?'}${e.reason ? `: ${e.reason.code} ${e.reason.message}` : ''}`;
  }
  return `${type} ${JSON.stringify(rest)}`;
}
