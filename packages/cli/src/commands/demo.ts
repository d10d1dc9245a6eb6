import type { CommandModule } from 'yargs';
import { consoleReporter } from '@edgeloop/distill';
import { renderDemoReport } from '../demo/report.js';
import { runDemo } from '../demo/run-demo.js';
import { emit } from '../output.js';

interface DemoArgs {
  'work-dir': string;
  'cache-dir': string;
  quick: boolean;
  threads?: number;
  json: boolean;
}

/** `edgeloop demo [--quick] [--json]`: the whole distillation loop on digits, with three device processes. */
export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Run the whole loop on digits: teacher, student v1, int8 bundle, 3 devices, field samples, student v2, canary rollout',
  builder: (y) =>
    y
      .option('work-dir', { type: 'string', default: '.work/demo', describe: 'Working folder (wiped at the start)' })
      .option('cache-dir', { type: 'string', default: '.work/demo-cache', describe: "The teacher's and the label cache (kept between runs)" })
      .option('quick', { type: 'boolean', default: false, describe: 'Fewer samples and epochs (CI)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads for training and measuring' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the final report as JSON (progress goes to stderr)' }),
  handler: async (args) => {
    // With --json stdout carries only the report; progress goes to stderr.
    const progress = args.json ? process.stderr : process.stdout;
    const controller = new AbortController();
    const interrupt = (): void => {
      progress.write('demo: interrupted, stopping the child processes\n');
      controller.abort(new Error('interrupted (SIGINT)'));
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      const report = await runDemo({
        workDir: args['work-dir'], cacheDir: args['cache-dir'], quick: args.quick, signal: controller.signal,
        log: (line) => progress.write(`${line}\n`), reporter: consoleReporter(progress),
        ...(args.threads !== undefined ? { threads: args.threads } : {}),
      });
      emit(args, report, renderDemoReport);
      if (!report.allOnV2 || report.samples.lost !== 0) process.exitCode = 1;
    } catch (error) {
      // Interrupted: the children are stopped by now; exit as a shell does after Ctrl-C.
      if (!controller.signal.aborted) throw error;
      process.stderr.write('edgeloop: demo interrupted; every child process stopped\n');
      process.exitCode = 130;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  },
};
