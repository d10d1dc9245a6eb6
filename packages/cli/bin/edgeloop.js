#!/usr/bin/env node
// The installed `edgeloop` command: runs the compiled CLI (build it with `npm run build`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('edgeloop: the CLI is not built yet; run `npm run build` in the edgeloop checkout\n');
  process.exit(1);
}
await import(main.href);
