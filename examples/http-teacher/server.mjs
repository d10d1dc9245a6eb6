#!/usr/bin/env node
// A teacher behind HTTP, as docs/teachers.md describes the wire format: POST an image (JPEG/PNG
// bytes, or JSON {"image": "<base64>"}) to /predict, get {"logits": [...]} (or "probabilities"
// when the model ends in Softmax). The model preprocesses images itself from its
// edgeloop.preprocessing metadata, exactly as the device runtime would.
//
//   node examples/http-teacher/server.mjs --model teacher.onnx --port 8090 [--host 127.0.0.1]
//
// Build the packages first (npx tsc -b). --port 0 picks a free port; the first line on stdout
// says where it listens.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { OnnxTeacher } from '@edgeloop/distill';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    port: { type: 'string', default: '8090' },
    host: { type: 'string', default: '127.0.0.1' },
    'max-bytes': { type: 'string', default: String(8 * 1024 * 1024) },
  },
});
if (!values.model) {
  process.stderr.write('usage: server.mjs --model teacher.onnx [--port 8090] [--host 127.0.0.1]\n');
  process.exit(2);
}
const maxBytes = Number(values['max-bytes']);
const teacher = await OnnxTeacher.open(values.model);

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > maxBytes) throw Object.assign(new Error(`body over ${maxBytes} bytes`), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method === 'GET' && path === '/healthz') {
    send(res, 200, { ok: true, teacher: teacher.id, classes: teacher.numClasses ?? null, labels: teacher.labels ?? null });
    return;
  }
  if (req.method !== 'POST' || path !== '/predict') {
    send(res, 404, { error: 'POST /predict or GET /healthz' });
    return;
  }
  readBody(req)
    .then(async (body) => {
      const type = String(req.headers['content-type'] ?? '');
      const image = type.startsWith('application/json') ? Buffer.from(JSON.parse(body.toString('utf8')).image ?? '', 'base64') : body;
      if (image.length === 0) throw Object.assign(new Error('no image in the request'), { status: 400 });
      const prediction = await teacher.predict([{ image }]);
      send(res, 200, { [prediction.kind]: Array.from(prediction.values) });
    })
    .catch((error) => {
      // Undecodable images are the client's fault (400): the client does not retry those.
      const status = error.status ?? (error.code === 'IMAGE_DECODE' || error instanceof SyntaxError ? 400 : 500);
      send(res, status, { error: String(error.message ?? error).split('\n')[0] });
    });
});

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  process.stdout.write(`teacher ${teacher.description} (${teacher.numClasses ?? '?'} classes) on http://${values.host}:${port}/predict\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void teacher.close().finally(() => process.exit(0));
  });
}
