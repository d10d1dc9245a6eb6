// The HTTP teacher against a real server on 127.0.0.1: retries with backoff, refused connections,
// timeouts, limits, wrong output sizes, and the on-disk cache that makes relabelling free.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TeacherOutputError, TeacherRequestError } from '../errors.js';
import { HttpTeacher } from './http-teacher.js';
import { labelSamples } from './label.js';
import type { TeacherSample } from './teacher.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

interface TestServer {
  server: Server;
  url: string;
  port: number;
  requests: { contentType?: string; body: Buffer }[];
  maxInFlight: number;
  close(): Promise<void>;
}

async function startServer(handler: Handler, port = 0): Promise<TestServer> {
  let inFlight = 0;
  const state: TestServer = {
    server: createServer((req, res) => {
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        state.requests.push({ contentType: req.headers['content-type'], body });
        handler(req, body, res);
      });
    }),
    url: '',
    port: 0,
    requests: [],
    maxInFlight: 0,
    close: () => new Promise<void>((resolve) => {
      state.server.closeAllConnections();
      state.server.close(() => resolve());
    }),
  };
  await new Promise<void>((resolve) => state.server.listen(port, '127.0.0.1', resolve));
  state.port = (state.server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}/predict`;
  return state;
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

/** Probabilities that depend on the image bytes, so each sample has its own answer. */
function answerFor(body: Buffer, classes = 3): number[] {
  const k = body[body.length - 1] % classes;
  return Array.from({ length: classes }, (_, i) => (i === k ? 0.8 : 0.2 / (classes - 1)));
}

/** Fake "images": a PNG signature and a distinct last byte (the HTTP teacher only forwards bytes). */
function samples(n: number, offset = 0): TeacherSample[] {
  return Array.from({ length: n }, (_, i) => ({ image: Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, i + offset) }));
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-http-teacher-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function countCacheFiles(cacheDir: string): Promise<number> {
  const entries = await readdir(cacheDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.json')).length;
}

describe('HttpTeacher', () => {
  it('retries 503 with exponential backoff, honours Retry-After, then succeeds', async () => {
    let calls = 0;
    const server = await startServer((_req, body, res) => {
      calls++;
      if (calls === 1) return json(res, 503, { error: 'warming up' });
      if (calls === 2) return json(res, 503, { error: 'still warming up' }, { 'retry-after': '0.2' });
      json(res, 200, { probabilities: answerFor(body) });
    });
    try {
      const teacher = new HttpTeacher({ url: server.url, attempts: 5, backoff: { baseMs: 40 } });
      const started = performance.now();
      const p = await teacher.predict(samples(1, 2));
      const elapsed = performance.now() - started;
      assert.equal(server.requests.length, 3);
      assert.equal(teacher.requestCount, 3);
      assert.equal(p.kind, 'probabilities');
      assert.deepEqual(Array.from(p.values), Array.from(Float32Array.from([0.1, 0.1, 0.8])));
      // First wait: backoff 20..40 ms; second: max(backoff 40..80, Retry-After 200 ms).
      assert.ok(elapsed >= 215, `waited ${elapsed.toFixed(0)} ms`);
      assert.equal(server.requests[0].contentType, 'image/png');
    } finally {
      await server.close();
    }
  });

  it('does not retry a 400 and names the URL and the status', async () => {
    const server = await startServer((_req, _body, res) => json(res, 400, { error: 'bad image' }));
    try {
      const teacher = new HttpTeacher({ url: server.url, attempts: 4, backoff: { baseMs: 1 } });
      await assert.rejects(teacher.predict(samples(1)), (error: unknown) => {
        assert.ok(error instanceof TeacherRequestError);
        assert.equal(error.status, 400);
        assert.match(error.message, new RegExp(`^teacher ${server.url}: HTTP 400 Bad Request`));
        return true;
      });
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });

  it('gives up on a request that outlives the timeout, after bounded attempts', async () => {
    // The server would answer after 5 s; the client's 150 ms timeout must cut both attempts short.
    // Bounds are generous so a loaded CI machine cannot make this flaky.
    const server = await startServer((_req, body, res) => {
      setTimeout(() => json(res, 200, { probabilities: answerFor(body) }), 5000).unref();
    });
    try {
      const teacher = new HttpTeacher({ url: server.url, timeoutMs: 150, attempts: 2, backoff: { baseMs: 1 } });
      const started = performance.now();
      await assert.rejects(teacher.predict(samples(1)), (error: unknown) => {
        assert.ok(error instanceof TeacherRequestError);
        assert.match(error.message, /no answer within 150 ms \(gave up after 2 attempts\)/);
        assert.equal(error.attempts, 2);
        return true;
      });
      assert.equal(teacher.requestCount, 2, 'exactly the bounded number of attempts');
      assert.ok(performance.now() - started < 4000, 'timeouts cut the requests short of the 5 s answer');
    } finally {
      await server.close();
    }
  });

  it('unreachable teacher: bounded retries, a clear error, and the cache of what was labelled survives', async () => {
    const cacheDir = join(dir, 'cache-refused');
    const server = await startServer((_req, body, res) => json(res, 200, { probabilities: answerFor(body) }));
    const { port, url } = server;
    const teacher = new HttpTeacher({ url, attempts: 3, backoff: { baseMs: 5 } });
    const first = await labelSamples(teacher, samples(4), { cacheDir, batchSize: 2 });
    assert.equal(first.predicted, 4);
    assert.equal(await countCacheFiles(cacheDir), 4);
    await server.close();

    const before = teacher.requestCount;
    await assert.rejects(labelSamples(teacher, samples(6), { cacheDir, batchSize: 2 }), (error: unknown) => {
      assert.ok(error instanceof TeacherRequestError);
      assert.match(error.message, new RegExp(`^teacher ${url}: request failed: ECONNREFUSED.*gave up after 3 attempts`));
      assert.equal(error.status, undefined);
      return true;
    });
    assert.equal(teacher.requestCount - before, 2 * 3, 'two new samples, three attempts each, none for the cached four');
    assert.equal(await countCacheFiles(cacheDir), 4, 'the cache is kept');

    // The teacher comes back on the same address: only the two missing samples are requested.
    const again = await startServer((_req, body, res) => json(res, 200, { probabilities: answerFor(body) }), port);
    try {
      const second = await labelSamples(teacher, samples(6), { cacheDir });
      assert.equal(second.fromCache, 4);
      assert.equal(second.predicted, 2);
      assert.equal(again.requests.length, 2);
      const third = await labelSamples(teacher, samples(6), { cacheDir });
      assert.equal(third.fromCache, 6);
      assert.equal(again.requests.length, 2, 'relabelling the same data makes zero HTTP requests');
      assert.deepEqual(Array.from(third.logits), Array.from(second.logits));
      // Probabilities are cached as given and handed to the trainer as log-probabilities.
      assert.ok(Math.abs(third.logits[0] - Math.log(0.8)) < 1e-6 && Math.abs(third.logits[2] - Math.log(0.1)) < 1e-6, `${third.logits.slice(0, 3).join(", ")}`);
    } finally {
      await again.close();
    }
  });

  it('a teacher whose output size does not match the student fails with TeacherOutputError', async () => {
    const server = await startServer((_req, body, res) => json(res, 200, { logits: answerFor(body, 4) }));
    try {
      const teacher = new HttpTeacher({ url: server.url });
      await assert.rejects(labelSamples(teacher, samples(2), { expectedClasses: 3 }), (error: unknown) => {
        assert.ok(error instanceof TeacherOutputError);
        assert.equal(error.code, 'TEACHER_OUTPUT');
        assert.match(error.message, /outputs 4 classes but the student has 3/);
        return true;
      });
    } finally {
      await server.close();
    }
  });

  it('rejects answers without probabilities or logits', async () => {
    const server = await startServer((_req, _body, res) => json(res, 200, { scores: [1, 2, 3] }));
    try {
      await assert.rejects(new HttpTeacher({ url: server.url, attempts: 3 }).predict(samples(1)), /no "probabilities" or "logits" array/);
      assert.equal(server.requests.length, 1, 'a malformed answer is not retried');
    } finally {
      await server.close();
    }
  });

  it('sends JSON with base64 in json format and keeps within the concurrency and rate limits', async () => {
    const server = await startServer((_req, body, res) => {
      const { image } = JSON.parse(body.toString('utf8')) as { image: string };
      setTimeout(() => json(res, 200, { logits: answerFor(Buffer.from(image, 'base64')) }), 30).unref();
    });
    try {
      const teacher = new HttpTeacher({ url: server.url, format: 'json', concurrency: 2, requestsPerSecond: 25 });
      const started = performance.now();
      const p = await teacher.predict(samples(6));
      const elapsed = performance.now() - started;
      assert.equal(p.kind, 'logits');
      assert.equal(p.classes, 3);
      assert.equal(server.requests[0].contentType, 'application/json');
      assert.ok(server.maxInFlight <= 2, `in flight ${server.maxInFlight}`);
      assert.ok(elapsed >= 5 * 40 - 5, `6 requests at 25/s take at least 200 ms, took ${elapsed.toFixed(0)}`);
      for (let i = 0; i < 6; i++) assert.equal(p.values[i * 3 + (i % 3)], Math.fround(0.8), `sample ${i}`);
    } finally {
      await server.close();
    }
  });

  it('has an id from URL and wire config, not from headers', () => {
    const a = new HttpTeacher({ url: 'http://127.0.0.1:1/predict', headers: { authorization: 'Bearer a' } });
    const b = new HttpTeacher({ url: 'http://127.0.0.1:1/predict', headers: { authorization: 'Bearer b' } });
    const c = new HttpTeacher({ url: 'http://127.0.0.1:1/predict', version: '2' });
    assert.equal(a.id, b.id);
    assert.notEqual(a.id, c.id);
    assert.match(a.id, /^[0-9a-f]{64}$/);
    assert.throws(() => new HttpTeacher({ url: 'ftp://x/' }), /is not http\(s\)/);
  });
});
