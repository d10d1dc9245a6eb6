import type { Argv, CommandModule } from 'yargs';
import { inspectBundle, TrustStore, verifyBundle } from '@edgeloop/bundle';
import type { BundleInfo, VerifyReport } from '@edgeloop/bundle';
import { emit, formatBytes, table } from '../output.js';
import { bundleCreateCommand } from './bundle-create.js';

interface VerifyArgs {
  bundle: string;
  trust: string[];
  json: boolean;
}

/** A failed verification is an expected outcome: reported in full, then a one-line error. */
export class BundleVerificationFailed extends Error {
  readonly code = 'BUNDLE_VERIFY_FAILED';
  constructor(readonly report: VerifyReport) {
    const failed = report.checks.filter((c) => c.status === 'fail');
    super(`${report.path}: verification failed: ${failed.map((c) => `${c.name}: ${c.message}`).join('; ')}`);
    this.name = 'BundleVerificationFailed';
  }
}

function renderVerify(r: VerifyReport): string {
  const head = r.ok
    ? `${r.path}: OK  ${r.name ?? ''} v${r.version ?? '?'} signed by ${r.keyId ?? '?'}  sha256 ${r.fileSha256 ?? '?'}`
    : `${r.path}: FAILED`;
  const rows = r.checks.map((c) => [c.status === 'pass' ? 'pass' : c.status === 'fail' ? 'FAIL' : 'skip', c.name, c.message]);
  return `${head}\n${table(rows)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}`;
}

const verify: CommandModule<object, VerifyArgs> = {
  command: 'verify <bundle>',
  describe: 'Check a bundle: structure, manifest schema, member hashes, signature by a trusted key',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'Bundle file' })
      .option('trust', {
        alias: 't',
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'Trusted public key file or directory of .pub files (repeatable)',
      })
      .option('json', { type: 'boolean', default: false })
      .example('$0 bundle verify model.bundle --trust keys/release.pub', ''),
  handler: async (args) => {
    const trust = await TrustStore.fromPaths(args.trust);
    const report = await verifyBundle(args.bundle, trust);
    if (!report.ok) {
      if (!args.json) process.stdout.write(`${renderVerify(report)}\n`);
      else emit(args, report, renderVerify);
      throw new BundleVerificationFailed(report);
    }
    emit(args, report, renderVerify);
  },
};

interface InspectArgs {
  bundle: string;
  json: boolean;
}

function renderInspect(info: BundleInfo): string {
  const m = info.manifest;
  const lines = [
    `${info.path}  (${formatBytes(info.bytes)})`,
    `name ${m.name}  version ${m.version}  task ${m.task}  target ${m.targetProfile}  created ${m.createdAt}`,
    `signed by key ${info.signature.keyId} (${info.signature.algorithm}; not verified here, use bundle verify)`,
    `model ${m.model.path}  opset ${m.model.opset}  precision ${m.model.precision}`,
  ];
  for (const i of m.model.inputs) {
    const p = i.preprocessing;
    const pre = p
      ? `  ${p.width}x${p.height} ${p.resize} ${p.colorOrder} ${p.layout} ${p.dtype} scale ${p.scale} mean [${p.mean.join(', ')}] std [${p.std.join(', ')}]`
      : '';
    lines.push(`  input  ${i.name} ${i.dtype} [${i.shape.join(', ')}]${pre}`);
  }
  for (const o of m.model.outputs) lines.push(`  output ${o.name} ${o.dtype} [${o.shape.join(', ')}]`);
  if (m.labels.length > 0) lines.push(`labels (${m.labels.length}): ${m.labels.slice(0, 20).join(', ')}${m.labels.length > 20 ? ', …' : ''}`);
  lines.push(`golden pairs: ${m.golden.length}`);
  const metrics = Object.entries(m.metrics);
  if (metrics.length > 0) lines.push(`metrics: ${metrics.map(([k, v]) => `${k}=${v}`).join('  ')}`);
  const prov = Object.entries(m.provenance);
  if (prov.length > 0) lines.push(`provenance: ${prov.map(([k, v]) => `${k}=${v}`).join('  ')}`);
  lines.push('members:');
  lines.push(
    table(info.members.map((mem) => [`  ${mem.path}`, mem.role, formatBytes(mem.size), `offset ${mem.offset}`, mem.sha256.slice(0, 16)])),
  );
  return lines.join('\n');
}

const inspect: CommandModule<object, InspectArgs> = {
  command: 'inspect <bundle>',
  describe: 'Show a bundle manifest and members (does not verify the signature)',
  builder: (y) =>
    y.positional('bundle', { type: 'string', demandOption: true, describe: 'Bundle file' }).option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const info = await inspectBundle(args.bundle);
    emit(args, info, renderInspect);
  },
};

export const bundleCommand: CommandModule = {
  command: 'bundle <command>',
  describe: 'Create, verify and inspect signed model bundles',
  builder: (y: Argv) =>
    y
      .command(bundleCreateCommand)
      .command(verify)
      .command(inspect)
      .demandCommand(1, 'Name a bundle command; see edgeloop bundle --help'),
  handler: () => undefined,
};
