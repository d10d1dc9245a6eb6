#!/usr/bin/env node
// `npm run demo` for now: the foundation's path from a model to a verified, signed bundle, with
// the shipped example model, run through the real `edgeloop` command. Later steps of the loop
// (distill, compile, deliver, run, collect) join here as they land.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const work = join(root, '.work', 'demo');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const cli = join(root, 'packages', 'cli', 'dist', 'main.js');
const model = join(root, 'examples', 'models', 'digits-cnn.onnx');

function step(title, args) {
  console.log(`\n$ edgeloop ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: step "${title}" failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

console.log(`edgeloop demo (working folder ${work})`);
step('inspect the example model', ['inspect', model]);
step('make a signing key', ['keys', 'generate', '-o', 'release']);
step('package it as a signed bundle', ['bundle', 'create', model, '-o', 'digits.bundle', '-k', 'release.key', '--target', 'raspberry-pi-4']);
step('verify it as a device would', ['bundle', 'verify', 'digits.bundle', '--trust', 'release.pub']);
console.log('\ndemo: done');
