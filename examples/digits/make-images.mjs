#!/usr/bin/env node
// Writes the mnist package's digits as 28x28 greyscale PNGs in class folders (<out>/0 … <out>/9),
// the input `edgeloop dataset import` takes.
//   node examples/digits/make-images.mjs .work/digits/images [--per-class 300]
import { parseArgs } from 'node:util';
import { writeDigitImages } from '@edgeloop/distill';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'per-class': { type: 'string' }, seed: { type: 'string', default: '1' } } });
const out = positionals[0];
if (!out) {
  process.stderr.write('usage: make-images.mjs <out-folder> [--per-class N] [--seed S]\n');
  process.exit(2);
}
const written = await writeDigitImages(out, {
  perClass: values['per-class'] ? Number(values['per-class']) : undefined,
  seed: Number(values.seed),
});
const total = Object.values(written).reduce((a, b) => a + b, 0);
process.stdout.write(`${out}: ${total} PNGs (${Object.entries(written).map(([d, n]) => `${d}: ${n}`).join(', ')})\n`);
