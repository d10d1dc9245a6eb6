import type { CommandModule } from 'yargs';
import { requestDeploy, requestRollback, waitForRollout } from '@edgeloop/ota';
import type { DeployOptions, DeviceSelector, RolloutRecord } from '@edgeloop/ota';
import { emit, table, UsageError } from '../output.js';

interface TargetArgs {
  fleet?: string;
  devices?: string;
  tag?: string;
}

function selectorOf(args: TargetArgs): DeviceSelector {
  const given = [args.fleet, args.devices, args.tag].filter((s) => s !== undefined).length;
  if (given > 1) throw new UsageError('name at most one of --fleet, --devices and --tag');
  if (args.fleet !== undefined) return { fleet: args.fleet };
  if (args.devices !== undefined) return { devices: args.devices.split(',').map((d) => d.trim()).filter((d) => d.length > 0) };
  if (args.tag !== undefined) return { tag: args.tag };
  return {};
}

interface DeployArgs extends TargetArgs {
  bundle: string;
  'data-dir': string;
  canary: string;
  'max-failures': string;
  'wave-timeout': number;
  wait: boolean;
  json: boolean;
}

function summary(record: RolloutRecord): { id: string; status: string; bundle: RolloutRecord['bundle']; waves: number[]; succeeded: string[]; failed: Record<string, string>; inFlight: string[]; unreached: string[]; haltReason?: string } {
  const by = (state: string): string[] => Object.entries(record.outcomes).filter(([, o]) => o.state === state).map(([id]) => id);
  const failed: Record<string, string> = {};
  for (const [id, o] of Object.entries(record.outcomes)) if (o.state === 'failed') failed[id] = o.reason;
  return {
    id: record.id, status: record.status, bundle: record.bundle, waves: record.waves.map((w) => w.length),
    succeeded: by('succeeded'), failed, inFlight: by('assigned'), unreached: by('pending'),
    ...(record.haltReason !== undefined ? { haltReason: record.haltReason } : {}),
  };
}

export const deployCommand: CommandModule<object, DeployArgs> = {
  command: 'deploy <bundle>',
  describe: 'Roll a bundle out to devices in waves (canary first) through the running fleet server',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'Signed bundle file' })
      .option('data-dir', { alias: 'd', type: 'string', demandOption: true, describe: 'The data directory of the running `edgeloop serve`' })
      .option('fleet', { type: 'string', describe: 'Every device of this fleet' })
      .option('devices', { type: 'string', describe: 'Comma-separated device ids' })
      .option('tag', { type: 'string', describe: 'Every device with this tag' })
      .option('canary', { type: 'string', default: '10%', describe: 'First wave: percentage or count' })
      .option('max-failures', { type: 'string', default: '20%', describe: 'Halt when more devices than this fail (percentage or count)' })
      .option('wave-timeout', { type: 'number', default: 600, describe: 'Seconds of silence after which a device counts as failed' })
      .option('wait', { type: 'boolean', default: true, describe: 'Wait until the rollout is done or halted (--no-wait: return once accepted)' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 deploy digits-v4.elb -d srv --tag lobby --canary 1 --max-failures 20%', 'Canary one device, then waves'),
  handler: async (args) => {
    const options: DeployOptions = { ...selectorOf(args), canary: args.canary, maxFailures: args['max-failures'], waveTimeoutMs: args['wave-timeout'] * 1000 };
    let record = await requestDeploy(args['data-dir'], args.bundle, options);
    if (args.wait) {
      record = await waitForRollout(args['data-dir'], record.id, {
        onChange: (r) => {
          if (!args.json) process.stderr.write(`rollout ${r.id.slice(0, 8)}: wave ${r.wave + 1}/${r.waves.length}, ${Object.values(r.outcomes).filter((o) => o.state === 'succeeded').length} succeeded, ${Object.values(r.outcomes).filter((o) => o.state === 'failed').length} failed\n`);
        },
      });
    }
    const result = summary(record);
    emit(args, result, (r) =>
      [
        `rollout ${r.id}: ${r.status} (${r.bundle.name} v${r.bundle.version}, waves ${r.waves.join('+')})`,
        `succeeded ${r.succeeded.length}, failed ${Object.keys(r.failed).length}, in flight ${r.inFlight.length}, not reached ${r.unreached.length}`,
        ...Object.entries(r.failed).map(([id, why]) => `  failed ${id}: ${why}`),
        ...(r.haltReason !== undefined ? [`halted: ${r.haltReason}`] : []),
      ].join('\n'),
    );
    if (record.status === 'halted') process.exitCode = 1;
  },
};

interface RollbackArgs extends TargetArgs {
  'data-dir': string;
  json: boolean;
}

export const rollbackCommand: CommandModule<object, RollbackArgs> = {
  command: 'rollback',
  describe: 'Send devices back to the bundle they ran before their last rollout (an explicit rollback, see §rollback)',
  builder: (y) =>
    y
      .option('data-dir', { alias: 'd', type: 'string', demandOption: true, describe: 'The data directory of the running `edgeloop serve`' })
      .option('fleet', { type: 'string', describe: 'Every device of this fleet' })
      .option('devices', { type: 'string', describe: 'Comma-separated device ids' })
      .option('tag', { type: 'string', describe: 'Every device with this tag' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const result = await requestRollback(args['data-dir'], selectorOf(args));
    emit(args, result, (r) =>
      table([
        ['DEVICE', 'RESULT'],
        ...Object.entries(r.rolledBack).map(([id, sha]) => [id, `rolled back to ${sha.slice(0, 12)}…`]),
        ...Object.entries(r.skipped).map(([id, why]) => [id, `skipped: ${why}`]),
      ]),
    );
  },
};
