#!/usr/bin/env node
// The Hinton-style table on MNIST digits: a teacher, then each student trained alone and distilled
// from the teacher's soft labels, test errors side by side (runDigitsExample in @edgeloop/distill).
//   node examples/digits/run.mjs [--quick] [--out .work/digits/models] [--threads N]
// --quick trains on 2,000 digits for a few epochs (a minute or two); the default uses 8,000 digits.
import { parseArgs } from 'node:util';
import { runDigitsExample } from '@edgeloop/distill';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    threads: { type: 'string' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const started = Date.now();
const result = await runDigitsExample({
  seed: Number(values.seed),
  threads: values.threads ? Number(values.threads) : undefined,
  outDir: values.out,
  ...(values.quick ? { trainCount: 2000, teacherEpochs: 3, studentEpochs: 5 } : {}),
});
if (values.json) process.stdout.write(`${JSON.stringify(result.rows, null, 2)}\n`);
else process.stdout.write(`\n${result.table}\n\n${((Date.now() - started) / 1000).toFixed(0)} s in all${values.out ? `; models in ${values.out}` : ''}\n`);
