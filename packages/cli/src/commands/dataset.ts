import type { CommandModule } from 'yargs';
import { datasetExportCommand, datasetImportCommand } from '@edgeloop/distill';
import type { DatasetImportResult } from '@edgeloop/distill';
import { emit, UsageError } from '../output.js';

interface ImportArgs {
  folder: string;
  store: string;
  field: boolean;
  label?: string;
  splits?: string;
  json: boolean;
}

interface ExportArgs {
  store: string;
  out: string;
  split?: 'train' | 'val' | 'test';
  json: boolean;
}

function renderImport(r: DatasetImportResult): string {
  const lines = [
    `${r.store}: ${r.added} added, ${r.duplicates} duplicates, ${r.corrupt.length} corrupt skipped, ${r.ignored} other files ignored (${r.scanned} images scanned; ${r.total} samples in the store)`,
    `  new per split: train ${r.splits.train}, val ${r.splits.val}, test ${r.splits.test}`,
  ];
  if (Object.keys(r.labels).length > 0) lines.push(`  new per label: ${Object.entries(r.labels).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (r.labelled > 0) lines.push(`  ${r.labelled} stored samples got a label`);
  for (const c of r.labelConflicts) lines.push(`  label conflict: ${c.path}: ${c.reason}`);
  for (const c of r.corrupt) lines.push(`  skipped: ${c.path}: ${c.reason}`);
  return lines.join('\n');
}

function parseSplits(value: string | undefined): { train: number; val: number; test: number } | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map(Number);
  if (parts.length !== 3 || parts.some((n) => !(n >= 0)) || !(parts[0]! + parts[1]! + parts[2]! > 0)) {
    throw new UsageError(`--splits takes three non-negative ratios train,val,test, e.g. 0.8,0.1,0.1; got ${JSON.stringify(value)}`);
  }
  return { train: parts[0]!, val: parts[1]!, test: parts[2]! };
}

const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import <folder>',
  describe: 'Import images into a dataset store (class sub-folders become labels), or field samples with --field',
  builder: (y) =>
    y
      .positional('folder', { type: 'string', demandOption: true, describe: 'Folder of images, or of field samples (<sha256>.jpg + <sha256>.json)' })
      .option('store', { type: 'string', demandOption: true, describe: 'Dataset store folder (created when absent)' })
      .option('field', { type: 'boolean', default: false, describe: 'The folder holds field samples exported by the OTA server' })
      .option('label', { type: 'string', describe: 'Label every image with this class' })
      .option('splits', { type: 'string', describe: 'Split ratios of a new store: train,val,test (default 0.8,0.1,0.1)' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 dataset import ./digits --store store/', 'Class folders 0/ … 9/ become labels')
      .example('$0 dataset import ./samples --store store/ --field', 'Field samples from `samples export`'),
  handler: async (args) => {
    const result = await datasetImportCommand({ folder: args.folder, store: args.store, field: args.field, label: args.label, splits: parseSplits(args.splits) });
    emit(args, result, renderImport);
  },
};

const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Copy a store out as class folders (<out>/<label>/<sha256>.<ext>; unlabeled samples in <out>/)',
  builder: (y) =>
    y
      .option('store', { type: 'string', demandOption: true, describe: 'Dataset store folder' })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Output folder' })
      .option('split', { choices: ['train', 'val', 'test'] as const, describe: 'Only this split' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const result = await datasetExportCommand({ store: args.store, out: args.out, split: args.split });
    emit(args, result, (r) => `${r.out}: ${r.exported} images (${Object.entries(r.labels).map(([k, n]) => `${k} ${n}`).join(', ') || 'no labels'}${r.unlabeled ? `, ${r.unlabeled} unlabeled` : ''})`);
  },
};

export const datasetCommand: CommandModule = {
  command: 'dataset <command>',
  describe: 'Dataset stores: import folders and field samples, export class folders',
  builder: (y) => y.command(importCommand).command(exportCommand).demandCommand(1, 'Name a dataset command: import or export'),
  handler: () => undefined,
};
