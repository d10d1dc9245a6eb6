// `edgeloop compile` and `edgeloop bench` as a user runs them: a child process, real files, exit
// codes, the report on stdout (text or --json), one line on stderr when it fails.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIGITS, ROOT, writeDigits, writeKeys } from './compile-helpers.js';

const CLI = join(ROOT, 'packages/cli/dist/main.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function edgeloop(args: string[], cwd: string): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, EDGELOOP_DEBUG: '' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l && !/onnxruntime/.test(l)).join('\n') };
}

let dir: string;
let keys: ReturnType<typeof writeKeys>;
let calib: string;
const quick = ['--calibration-method', 'minmax', '--latency-runs', '8', '--threads', '1'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-compile-cli-'));
  keys = writeKeys(dir);
  calib = join(dir, 'calib');
  await writeDigits(join(dir, 'eval'), calib, 2, 1);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('edgeloop compile', () => {
  it('writes a signed int8 bundle and prints the report; bundle verify accepts it', () => {
    const out = join(dir, 'digits.bundle');
    const r = edgeloop(['compile', DIGITS, '-o', out, '--key', keys.key, '--calibration', calib, '--precision', 'int8', '--max-accuracy-drop', '100', ...quick], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /compile .*digits-cnn\.onnx for x86-64-cpu: OK/);
    assert.match(r.stdout, /int8 per-channel minmax u8/);
    assert.match(r.stdout, /chosen: int8 /);
    assert.match(r.stdout, /wrote .*digits\.bundle/);
    const verify = edgeloop(['bundle', 'verify', out, '--trust', keys.pub], dir);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const inspect = edgeloop(['bundle', 'inspect', out, '--json'], dir);
    const info = JSON.parse(inspect.stdout) as { manifest: { model: { precision: string }; metrics: Record<string, unknown> } };
    assert.equal(info.manifest.model.precision, 'int8');
    assert.equal(typeof info.manifest.metrics.fp32LatencyMs, 'number');
  });

  it('--json emits the report with every candidate and the choice', () => {
    const r = edgeloop(['compile', DIGITS, '--calibration', calib, '--json', ...quick], dir);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; chosen: string; candidates: { id: string; latencyMs: { p50: number }; sizeBytes: number; agreement: number }[]; bundle?: unknown };
    assert.equal(report.ok, true);
    assert.ok(report.candidates.length >= 3, 'per-channel and per-tensor int8 (uint8 activations on x86-64) and fp32');
    assert.ok(report.candidates.some((c) => c.id === report.chosen));
    for (const c of report.candidates) assert.ok(c.latencyMs.p50 > 0 && c.sizeBytes > 0 && c.agreement >= 0);
    assert.equal(report.bundle, undefined, 'no --out: report only');
  });

  it('--reduce-range on / off / auto decides which int8 weights get 7 bits, and the report says which', () => {
    const reduced = (mode: string): string[][] => {
      const r = edgeloop(['compile', DIGITS, '--calibration', calib, '--json', '--precision', 'int8', '--max-accuracy-drop', '100', '--reduce-range', mode, ...quick], dir);
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { candidates: { config: { precision: string }; reducedRange?: string[] }[] };
      return report.candidates.filter((c) => c.config.precision === 'int8').map((c) => c.reducedRange ?? []);
    };
    const on = reduced('on');
    const off = reduced('off');
    assert.ok(on.length >= 2 && on.every((nodes) => nodes.length >= 3), `every conv/gemm at 7 bits: ${JSON.stringify(on)}`);
    assert.ok(off.every((nodes) => nodes.length === 0), JSON.stringify(off));
    const auto = reduced('auto');
    assert.ok(auto.every((nodes, i) => nodes.length <= on[i].length));
    const bad = edgeloop(['compile', DIGITS, '--calibration', calib, '--reduce-range', 'sometimes'], dir);
    assert.equal(bad.status, 2);
  });

  it('an impossible budget exits non-zero, says so, and writes no bundle', () => {
    const out = join(dir, 'never.bundle');
    const r = edgeloop(['compile', DIGITS, '-o', out, '--key', keys.key, '--calibration', calib, '--precision', 'int8', '--max-accuracy-drop', '-1', ...quick], dir);
    assert.equal(r.status, 3);
    assert.match(r.stdout, /FAILED/);
    assert.match(r.stdout, /no choice: none of \d+ candidates is within the budget/);
    assert.match(r.stdout, /no bundle written/);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^edgeloop: no candidate meets the accuracy budget/);
    assert.equal(existsSync(out), false);
  });

  it('an empty calibration folder is a one-line error', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const r = edgeloop(['compile', DIGITS, '--calibration', empty], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr.trim(), /^edgeloop: calibration folder .*empty holds no images/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('--out without --key is a usage error', () => {
    const r = edgeloop(['compile', DIGITS, '-o', join(dir, 'x.bundle'), '--calibration', calib], dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--out needs --key/);
  });
});

describe('edgeloop bench', () => {
  it('--compare measures both in one run and prints the ratio', () => {
    const bundle = join(dir, 'digits.bundle');
    assert.ok(existsSync(bundle), 'bundle from the compile test');
    const r = edgeloop(['bench', DIGITS, '--compare', bundle, '--iterations', '20', '--threads', '1'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /p50 ms/);
    assert.match(r.stdout, /ratio: .*digits\.bundle p50 \/ .*digits-cnn\.onnx p50 = \d+\.\d+x/);
    const json = edgeloop(['bench', DIGITS, '--compare', bundle, '--iterations', '10', '--json'], dir);
    const report = JSON.parse(json.stdout) as { ratio: number; models: { kind: string; latencyMs: { p50: number; p95: number }; throughput: number }[] };
    assert.deepEqual(report.models.map((m) => m.kind), ['onnx', 'bundle']);
    assert.ok(report.ratio > 0 && Number.isFinite(report.ratio));
    assert.ok(report.models.every((m) => m.latencyMs.p95 >= m.latencyMs.p50 && m.throughput > 0));
  });
});
