import type { Argv, CommandModule } from 'yargs';
import { fleetStatus } from '@edgeloop/ota';
import { emit, table } from '../output.js';

interface StatusArgs {
  'data-dir': string;
  json: boolean;
}

const status: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: "Every device's version, state, download progress and last contact, and the rollouts",
  builder: (y) =>
    y
      .option('data-dir', { alias: 'd', type: 'string', demandOption: true, describe: 'The server data directory' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const result = await fleetStatus(args['data-dir']);
    emit(args, result, (r) => {
      const devices = table([
        ['DEVICE', 'FLEET', 'TAGS', 'VERSION', 'DESIRED', 'STATE', 'PHASE', 'PROGRESS', 'LAST SEEN', 'LAST ERROR'],
        ...r.devices.map((d) => [
          d.id, d.fleet, d.tags.join(',') || '-', d.version === null ? '-' : `v${d.version}`,
          d.desired === null ? '-' : `v${d.desired.version}${d.desired.rollback ? ' (rollback)' : ''}`,
          d.state, d.phase ?? '-', d.progress === null ? '-' : `${d.progress.percent}%`, d.lastSeen ?? 'never', d.lastError?.code ?? '-',
        ]),
      ]);
      const rollouts = r.rollouts.map((x) => `rollout ${x.id.slice(0, 8)} ${x.bundle.name} v${x.bundle.version}: ${x.status}, ${x.succeeded} ok, ${x.failed} failed, ${x.inFlight} in flight, ${x.unreached} not reached`);
      return [devices, ...rollouts].join('\n');
    });
  },
};

export const fleetCommand: CommandModule = {
  command: 'fleet <command>',
  describe: 'Look at the fleet',
  builder: (y: Argv) => y.command(status as unknown as CommandModule).demandCommand(1, 'Name a fleet command; see edgeloop fleet --help'),
  handler: () => undefined,
};
