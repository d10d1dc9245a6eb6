// `edgeloop dataset`, `train`, `label` and `distill` as a user runs them: child processes, real
// PNG digits, real onnxruntime, and the example HTTP teacher server as a separate process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEdgeloopMetadata, loadModel } from '@edgeloop/compiler';
import { writeDigitImages } from '@edgeloop/distill';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const SERVER = join(ROOT, 'examples/http-teacher/server.mjs');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function edgeloop(args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, EDGELOOP_DEBUG: '' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T>(r: Run): T {
  assert.equal(r.status, 0, `exit ${r.status}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

const DIGIT_FLAGS = ['--size', '28', '--color', 'GRAY', '--mean', '0.1307', '--std', '0.3081'];

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-distill-cli-'));
  await writeDigitImages(join(dir, 'digits'), { perClass: 5, seed: 3 });
  writeFileSync(join(dir, 'digits', '7', 'broken.png'), 'not a png');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('edgeloop dataset / train / label / distill', () => {
  it('dataset import: class folders become labels, the corrupt file is counted', () => {
    const r = json<{ added: number; corrupt: { path: string }[]; storeLabels: string[]; splits: Record<string, number> }>(
      edgeloop(['dataset', 'import', 'digits', '--store', 'store', '--json']),
    );
    assert.equal(r.added, 50);
    assert.equal(r.corrupt.length, 1);
    assert.match(r.corrupt[0].path, /broken\.png$/);
    assert.deepEqual(r.storeLabels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(r.splits.train + r.splits.val + r.splits.test, 50);
    const again = edgeloop(['dataset', 'import', 'digits', '--store', 'store']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /0 added, 50 duplicates, 1 corrupt skipped/);
  });

  it('train: a supervised teacher from the store, with edgeloop metadata', async () => {
    const r = json<{ output: string; samples: { train: number }; history: unknown[] }>(
      edgeloop(['train', '--data', 'store', '--arch', 'conv-small', ...DIGIT_FLAGS, '--epochs', '2', '--batch-size', '16', '-o', 'teacher.onnx', '--json']),
    );
    assert.equal(r.history.length, 2);
    const meta = readEdgeloopMetadata(await loadModel(join(dir, 'teacher.onnx')));
    assert.deepEqual(meta.labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(meta.preprocessing?.width, 28);
  });

  it('distill from the ONNX teacher: a student.onnx that inspect accepts; the rerun labels from cache', async () => {
    const first = json<{ teacher: { predicted: number; fromCache: number; id: string }; output: string; test?: { count: number } }>(
      edgeloop(['distill', '--teacher', 'teacher.onnx', '--data', 'store', '--student', 'conv-small', '--epochs', '1', '--batch-size', '16', '-o', 'student.onnx', '--json']),
    );
    assert.equal(first.teacher.predicted, 50);
    assert.equal(first.teacher.id, createHash('sha256').update(readFileSync(join(dir, 'teacher.onnx'))).digest('hex'));
    const inspect = edgeloop(['inspect', 'student.onnx', '--json']);
    assert.equal(inspect.status, 0, inspect.stderr);
    const summary = JSON.parse(inspect.stdout) as { outputs: { shape: unknown[] }[]; parameterCount: number };
    assert.equal(summary.outputs[0].shape[1], 10);
    assert.ok(summary.parameterCount > 1000);
    const meta = readEdgeloopMetadata(await loadModel(join(dir, 'student.onnx')));
    assert.equal(meta.preprocessing?.colorOrder, 'GRAY', 'the student takes the teacher\'s preprocessing');
    const second = json<{ teacher: { predicted: number; fromCache: number } }>(
      edgeloop(['distill', '--teacher', 'teacher.onnx', '--data', 'store', '--student', 'conv-small', '--epochs', '1', '-o', 'student2.onnx', '--json']),
    );
    assert.deepEqual([second.teacher.predicted, second.teacher.fromCache], [0, 50]);
  });

  it('distill from a plain folder (no store) with progress on stderr', () => {
    const r = edgeloop(['distill', '--teacher', 'teacher.onnx', '--data', 'digits', '--student', 'conv-small', '--epochs', '1', '-o', 'folder-student.onnx']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /folder-student\.onnx: conv-small/);
    assert.match(r.stdout, /1 corrupt images skipped/);
    assert.match(r.stderr, /labelling with teacher\.onnx: 50\/50/);
    assert.match(r.stderr, /epoch 1/);
  });

  describe('through the example HTTP teacher server', () => {
    let server: ChildProcess | undefined;
    let url = '';
    before(async () => {
      const child = spawn(process.execPath, [SERVER, '--model', join(dir, 'teacher.onnx'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      server = child;
      url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /(http:\/\/\S+\/predict)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
    });
    after(() => {
      server?.kill('SIGTERM');
    });

    it('label over HTTP assigns labels to field samples; relabelling makes no requests', () => {
      const field = join(dir, 'field');
      mkdirSync(field, { recursive: true });
      for (const name of readdirSync(join(dir, 'digits', '4')).slice(0, 3)) {
        const bytes = readFileSync(join(dir, 'digits', '4', name));
        // Re-encode so the bytes differ from the store's copy of the same digit: a new sample.
        const copy = Buffer.concat([bytes, Buffer.from('field')]);
        const sha = createHash('sha256').update(copy).digest('hex');
        writeFileSync(join(field, `${sha}.png`), copy);
        writeFileSync(join(field, `${sha}.json`), JSON.stringify({ deviceId: 'cam-1', modelVersion: 3, reason: 'uncertain', capturedAt: new Date().toISOString(), prediction: { label: '9', confidence: 0.3 } }));
      }
      const imported = json<{ added: number; corrupt: unknown[] }>(edgeloop(['dataset', 'import', field, '--store', 'store', '--field', '--json']));
      assert.deepEqual([imported.added, imported.corrupt.length], [3, 0]);
      const labelled = json<{ predicted: number; fromCache: number; assigned: number; teacher: { requests: number } }>(
        edgeloop(['label', '--teacher', url, '--data', 'store', '--labels', '0,1,2,3,4,5,6,7,8,9', '--assign', '--json']),
      );
      assert.deepEqual([labelled.predicted, labelled.fromCache, labelled.assigned, labelled.teacher.requests], [53, 0, 3, 53]);
      const again = json<{ predicted: number; fromCache: number; teacher: { requests: number } }>(
        edgeloop(['label', '--teacher', url, '--data', 'store', '--json']),
      );
      assert.deepEqual([again.predicted, again.fromCache, again.teacher.requests], [0, 53, 0]);
    });

    it('distill --teacher http://… trains a student from the cached soft labels', () => {
      const r = json<{ teacher: { requests: number; fromCache: number }; output: string }>(
        edgeloop(['distill', '--teacher', url, '--data', 'store', '--student', 'conv-small', ...DIGIT_FLAGS, '--epochs', '1', '-o', 'http-student.onnx', '--json']),
      );
      assert.equal(r.teacher.requests, 0);
      assert.equal(r.teacher.fromCache, 53);
      assert.ok(existsSync(join(dir, 'http-student.onnx')));
    });
  });

  it('an unreachable HTTP teacher is one line naming the URL, after bounded retries', async () => {
    // A port nothing listens on (not one of fetch's refused "bad ports" such as 9).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/predict`;
    const r = edgeloop(['distill', '--teacher', url, '--data', 'store', ...DIGIT_FLAGS, '--http-attempts', '2', '--cache', join(dir, 'c'), '-o', 'never.onnx']);
    assert.equal(r.status, 1);
    const lines = r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('edgeloop: '));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].startsWith(`edgeloop: teacher ${url}: request failed: ECONNREFUSED`), lines[0]);
    assert.match(lines[0], /gave up after 2 attempts/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!existsSync(join(dir, 'never.onnx')));
  });

  it('a teacher with the wrong number of classes is a named one-line error', () => {
    const r = edgeloop(['distill', '--teacher', 'teacher.onnx', '--data', 'store', '--labels', 'a,b,c', '-o', 'never.onnx']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^edgeloop: teacher teacher\.onnx: outputs 10 classes but the student has 3$/m);
  });

  it('dataset export writes class folders and the unlabeled remainder', () => {
    const r = json<{ exported: number; labels: Record<string, number> }>(edgeloop(['dataset', 'export', '--store', 'store', '--out', 'exported', '--json']));
    assert.equal(r.exported, 53);
    assert.equal(Object.values(r.labels).reduce((a, b) => a + b, 0), 53, 'the field samples carry the labels the teacher assigned');
    assert.equal(readdirSync(join(dir, 'exported', '0')).length, r.labels['0']);
  });
});
