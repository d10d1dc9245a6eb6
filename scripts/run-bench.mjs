#!/usr/bin/env node
// Runs the compiled benchmarks (bench/dist/*.js) one after another, each in its own process.
// Every benchmark prints its own baseline measured in the same run and the ratio against it.
// Usage: npm run bench [-- name-filter...]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'bench', 'dist');
const filters = process.argv.slice(2);
const benches = readdirSync(dist)
  .filter((f) => f.endsWith('.js') && f !== 'index.js')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (benches.length === 0) {
  console.error('run-bench: no benchmarks matched');
  process.exit(1);
}
let failed = 0;
for (const file of benches) {
  console.log(`\n== ${file.replace(/\.js$/, '')} ==`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(dist, file)], { cwd: root, stdio: 'inherit' });
  console.log(`(${file}: exit ${r.status}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
