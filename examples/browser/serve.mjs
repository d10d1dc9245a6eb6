#!/usr/bin/env node
// Serves the browser example: the page, edgeloop's browser modules (from the packages' dist/),
// onnxruntime-web's WASM build, and one bundle with the public key the page should trust.
// Usage: node examples/browser/serve.mjs --bundle <file.bundle> --trust <key.pub> [--port 8080] [--host 127.0.0.1]
// Prints `listening on http://HOST:PORT/` when ready.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(new URL('../..', import.meta.url).pathname);
const here = join(root, 'examples', 'browser');
const { values } = parseArgs({
  options: {
    bundle: { type: 'string' },
    trust: { type: 'string' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!values.bundle || !values.trust) {
  console.error('serve: usage: node examples/browser/serve.mjs --bundle <file.bundle> --trust <key.pub> [--port 8080]');
  process.exit(2);
}
for (const path of [values.bundle, values.trust, join(root, 'packages/bundle/dist/browser.js')]) {
  try {
    await stat(path);
  } catch {
    console.error(`serve: ${path}: not found${path.includes('dist') ? ' (run `npm run build` first)' : ''}`);
    process.exit(1);
  }
}

// URL prefix -> folder; nothing outside these folders is served.
const mounts = [
  ['/lib/bundle/', join(root, 'packages/bundle/dist')],
  ['/lib/runtime/', join(root, 'packages/runtime/dist')],
  ['/ort/', join(root, 'node_modules/onnxruntime-web/dist')],
  ['/', here],
];
const files = { '/demo/model.bundle': resolve(values.bundle), '/demo/trust.pub': resolve(values.trust) };
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.pub': 'text/plain; charset=utf-8',
  '.bundle': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

function resolvePath(pathname) {
  if (files[pathname]) return files[pathname];
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    const rel = pathname === '/' ? 'index.html' : pathname.slice(prefix.length);
    const full = normalize(join(dir, rel));
    if (full !== dir && !full.startsWith(dir + sep)) return null;
    return full;
  }
  return null;
}

const server = createServer((req, res) => {
  const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const path = resolvePath(pathname);
  // Cross-origin isolation lets onnxruntime-web use WASM threads.
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  if (!path || path.endsWith('.map')) {
    res.writeHead(404).end('not found');
    return;
  }
  readFile(path).then(
    (body) => {
      res.writeHead(200, { 'Content-Type': types[extname(path)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(body);
    },
    () => res.writeHead(404).end('not found'),
  );
});
server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  console.log(`listening on http://${values.host}:${port}/`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
