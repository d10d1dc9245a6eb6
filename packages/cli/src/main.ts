#!/usr/bin/env node
// The `edgeloop` command. Thin wiring: every command parses its arguments, calls one package
// function and prints the result; the logic lives in the packages.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { reportError, UsageError } from './output.js';
import { inspectCommand } from './commands/inspect.js';
import { keysCommand } from './commands/keys.js';
import { bundleCommand } from './commands/bundle.js';
import { runCommandModule } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { deviceCommand } from './commands/device.js';
import { deployCommand, rollbackCommand } from './commands/deploy.js';
import { fleetCommand } from './commands/fleet.js';
import { samplesCommand } from './commands/samples.js';
import { datasetCommand } from './commands/dataset.js';
import { trainCommandModule } from './commands/train.js';
import { labelCommandModule } from './commands/label.js';
import { distillCommandModule } from './commands/distill.js';
import { compileCommand } from './commands/compile.js';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';

export async function main(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  const parser = yargs(argv)
    .scriptName('edgeloop')
    .usage('$0 <command> [options]\n\nDistill, compile, deliver and run models on edge fleets.')
    .option('json', { type: 'boolean', default: false, describe: 'Print machine-readable JSON' })
    .command(inspectCommand)
    .command(keysCommand)
    .command(bundleCommand)
    .command(runCommandModule)
    .command(serveCommand)
    .command(deviceCommand)
    .command(deployCommand)
    .command(rollbackCommand)
    .command(fleetCommand)
    .command(samplesCommand)
    .command(datasetCommand)
    .command(trainCommandModule)
    .command(labelCommandModule)
    .command(distillCommandModule)
    .command(compileCommand)
    .command(benchCommand)
    .command(demoCommand)
    .demandCommand(1, 'Name a command; see edgeloop --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // Validation failures arrive as a message; errors thrown by handlers arrive as err.
      throw err ?? new UsageError(`${msg} (see --help)`);
    });
  try {
    await parser.parseAsync();
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    return reportError(err, { json: wantsJson });
  }
}

// A closed pipe (`edgeloop run … | head`) ends the command quietly, as other Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportError(err, { json: false });
  },
);
