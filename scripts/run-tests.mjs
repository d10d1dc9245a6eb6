#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/**/*.test.js, test/dist/**/*.test.js) with node's
// test runner. Node 20's --test takes no globs, so the files are collected here.
// Usage: node scripts/run-tests.mjs [--unit] [filter...]
//   --unit    only the package unit tests (no test/ integration suites)
//   filter    keep files whose path contains any of these substrings
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

function collect(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) collect(join(root, 'packages', pkg, 'dist'), files);
if (!unitOnly) collect(join(root, 'test', 'dist'), files);
const selected = files
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (selected.length === 0) {
  console.error('run-tests: no compiled test files found; run `npx tsc -b` first');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=2', ...selected],
  { cwd: root, stdio: 'inherit', env: { ...process.env, EDGELOOP_REPO_ROOT: root } },
);
process.exit(result.status ?? 1);
