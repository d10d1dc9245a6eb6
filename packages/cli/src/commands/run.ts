import type { CommandModule } from 'yargs';
import { runCommand } from '@edgeloop/runtime';
import type { RunCommandOptions } from '@edgeloop/runtime';

interface RunArgs {
  bundle: string;
  source: string;
  trust?: string[];
  'skip-signature': boolean;
  profile?: string;
  fps?: number;
  loop: boolean;
  'max-frames'?: number;
  frames: boolean;
  spool?: string;
  'spool-max-mb'?: number;
  'spool-max-count'?: number;
  'samples-per-minute'?: number;
  'metrics-port'?: number;
  'metrics-host'?: string;
  'summary-interval': number;
  json: boolean;
}

export const runCommandModule: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Run a bundle on frames from a folder, image, video, MJPEG URL, V4L2 camera or RTSP stream',
  builder: (y) =>
    y
      .option('bundle', { alias: 'b', type: 'string', demandOption: true, describe: 'Bundle file' })
      .option('source', {
        alias: 's',
        type: 'string',
        demandOption: true,
        describe: 'Folder, glob, image, video file, http(s) MJPEG URL, v4l2:/dev/videoN or rtsp://…',
      })
      .option('trust', { alias: 't', type: 'string', array: true, describe: 'Trusted public key file or folder (repeatable)' })
      .option('skip-signature', { type: 'boolean', default: false, describe: 'Development only: do not require a trusted signature' })
      .option('profile', { type: 'string', describe: "Device profile (default: the bundle's target profile)" })
      .option('fps', { type: 'number', describe: 'Replay folders/files at this rate (default: as fast as possible)' })
      .option('loop', { type: 'boolean', default: false, describe: 'Start folders and files again at the end' })
      .option('max-frames', { type: 'number', describe: 'Stop after this many frames' })
      .option('frames', { type: 'boolean', default: true, describe: 'One line per frame (--no-frames: summaries only)' })
      .option('spool', { type: 'string', describe: 'Enable the field sampler and spool chosen frames to this folder' })
      .option('spool-max-mb', { type: 'number', describe: 'Spool byte budget (oldest dropped first)' })
      .option('spool-max-count', { type: 'number', describe: 'Spool sample budget' })
      .option('samples-per-minute', { type: 'number', describe: 'Sampler rate limit' })
      .option('metrics-port', { type: 'number', describe: 'Serve Prometheus /metrics and /metrics.json on this port' })
      .option('metrics-host', { type: 'string', describe: 'Metrics listen address (default 127.0.0.1)' })
      .option('summary-interval', { type: 'number', default: 10, describe: 'Seconds between summary lines (0: only at the end)' })
      .option('json', { type: 'boolean', default: false, describe: 'One JSON object per line' })
      .example('$0 run -b digits.bundle -t release.pub -s ./frames --fps 30', 'Replay a folder of images')
      .example('$0 run -b det.bundle -t keys/ -s v4l2:/dev/video0 --spool /var/lib/edgeloop/spool', 'A camera, sampling frames'),
  handler: async (args) => {
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const options: RunCommandOptions = {
      bundle: args.bundle,
      source: args.source,
      skipSignature: args['skip-signature'],
      loop: args.loop,
      json: args.json,
      printFrames: args.frames,
      summaryIntervalMs: args['summary-interval'] * 1000,
      signal: controller.signal,
      ...(args.trust ? { trust: args.trust } : {}),
      ...(args.profile ? { profile: args.profile } : {}),
      ...(args.fps !== undefined ? { fps: args.fps } : {}),
      ...(args['max-frames'] !== undefined ? { maxFrames: args['max-frames'] } : {}),
      ...(args.spool ? { spoolDir: args.spool } : {}),
      ...(args['spool-max-mb'] !== undefined ? { spoolMaxMB: args['spool-max-mb'] } : {}),
      ...(args['spool-max-count'] !== undefined ? { spoolMaxCount: args['spool-max-count'] } : {}),
      ...(args['samples-per-minute'] !== undefined ? { samplesPerMinute: args['samples-per-minute'] } : {}),
      ...(args['metrics-port'] !== undefined ? { metricsPort: args['metrics-port'] } : {}),
      ...(args['metrics-host'] ? { metricsHost: args['metrics-host'] } : {}),
    };
    try {
      await runCommand(options, {
        stdout: (line) => process.stdout.write(`${line}\n`),
        stderr: (line) => process.stderr.write(`${line}\n`),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};
