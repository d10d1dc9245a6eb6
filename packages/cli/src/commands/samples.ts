import type { Argv, CommandModule } from 'yargs';
import { exportSamples, listSamples, sidecarOf } from '@edgeloop/ota';
import { emit, formatBytes, table } from '../output.js';

interface ListArgs {
  'data-dir': string;
  device?: string;
  since?: string;
  json: boolean;
}

interface ExportArgs extends ListArgs {
  out: string;
}

const filters = (args: ListArgs): { device?: string; since?: string } => ({
  ...(args.device !== undefined ? { device: args.device } : {}),
  ...(args.since !== undefined ? { since: args.since } : {}),
});

const list: CommandModule<object, ListArgs> = {
  command: 'list',
  describe: 'List the field samples the server stored',
  builder: (y) =>
    y
      .option('data-dir', { alias: 'd', type: 'string', demandOption: true, describe: 'The server data directory' })
      .option('device', { type: 'string', describe: 'Only this device' })
      .option('since', { type: 'string', describe: 'Only samples received at or after this ISO time' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const entries = await listSamples(args['data-dir'], filters(args));
    const rows = entries.map((e) => ({ sha256: e.sha256, id: e.id, bytes: e.bytes, receivedAt: e.receivedAt, ...sidecarOf(e) }));
    emit(args, rows, (r) =>
      r.length === 0 ? 'no samples' : table([
        ['SHA256', 'DEVICE', 'MODEL', 'REASON', 'SIZE', 'CAPTURED'],
        ...r.map((s) => [s.sha256.slice(0, 16), s.deviceId, s.modelVersion === null ? '-' : `v${s.modelVersion}`, s.reason || '-', formatBytes(s.bytes), s.capturedAt]),
      ]),
    );
  },
};

const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Write samples as <sha256>.jpg + <sha256>.json sidecars (the dataset store imports this layout)',
  builder: (y) =>
    y
      .option('data-dir', { alias: 'd', type: 'string', demandOption: true, describe: 'The server data directory' })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Folder to write into' })
      .option('device', { type: 'string', describe: 'Only this device' })
      .option('since', { type: 'string', describe: 'Only samples received at or after this ISO time' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const result = await exportSamples(args['data-dir'], args.out, filters(args));
    emit(args, { outDir: result.outDir, exported: result.exported, duplicates: result.duplicates }, (r) =>
      `exported ${r.exported} sample(s) to ${r.outDir}${r.duplicates > 0 ? ` (${r.duplicates} duplicate image(s) merged)` : ''}`,
    );
  },
};

export const samplesCommand: CommandModule = {
  command: 'samples <command>',
  describe: 'Field samples sent home by devices',
  builder: (y: Argv) => y.command(list as unknown as CommandModule).command(exportCommand as unknown as CommandModule).demandCommand(1, 'Name a samples command; see edgeloop samples --help'),
  handler: () => undefined,
};
