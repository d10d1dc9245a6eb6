import { statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { loadModel, summarizeModel } from '@edgeloop/compiler';
import { emit, formatBytes, table } from '../output.js';

interface InspectArgs {
  model: string;
  json: boolean;
}

type Summary = ReturnType<typeof summarizeModel>;

function formatShape(shape: readonly (number | string | null)[] | null | undefined): string {
  if (!shape) return '(unknown rank)';
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

function renderSummary(path: string, s: Summary): string {
  const lines: string[] = [];
  const producer = s.producer?.name ? `, producer ${s.producer.name} ${s.producer.version ?? ''}`.trimEnd() : '';
  lines.push(`${path}  (${formatBytes(s.fileSize ?? 0)}, IR v${s.irVersion}${producer})`);
  lines.push(`opsets: ${s.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}`);
  lines.push('inputs:');
  lines.push(indent(table(s.inputs.map((i) => [i.name, i.dtype, formatShape(i.shape)]))));
  lines.push('outputs:');
  lines.push(indent(table(s.outputs.map((o) => [o.name, o.dtype, formatShape(o.shape)]))));
  lines.push(`parameters: ${s.parameterCount.toLocaleString('en-US')} (${formatBytes(s.initializerBytes)} of tensor data)`);
  lines.push(`nodes: ${s.nodeCount}`);
  const ops = Object.entries(s.nodeCountByOpType).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  lines.push(indent(table(ops.map(([op, n]) => [op, String(n)]))));
  return lines.join('\n');
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: 'Show an ONNX model: opsets, inputs/outputs, op counts, parameters, size',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'Path to a .onnx file' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 inspect examples/models/digits-cnn.onnx', 'Summarize the example model'),
  handler: async (args) => {
    const model = await loadModel(args.model);
    const summary = summarizeModel(model, statSync(args.model).size);
    emit(args, summary, (s) => renderSummary(args.model, s));
  },
};
