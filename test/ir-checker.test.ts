// Models written by the IR pass onnx.checker.check_model(full_check=True) from Debian's python3-onnx
// (onnx 1.12: IR version <= 8, opset <= 17). Python is spawned once for all files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, inferShapes, loadModel, saveModel } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';

const PYTHON = '/usr/bin/python3';
const CORPUS = '/usr/share/libonnx-testdata/data';
const CHECKER = `
import json, sys
import onnx
for path in sys.stdin.read().split('\\n'):
    if not path:
        continue
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        print(json.dumps({'path': path, 'ok': True}))
    except Exception as e:
        print(json.dumps({'path': path, 'ok': False, 'error': str(e).splitlines()[0] if str(e) else type(e).__name__}))
`;

function checkModels(paths: string[]): Map<string, { ok: boolean; error?: string }> {
  const run = spawnSync(PYTHON, ['-c', CHECKER], { input: paths.join('\n'), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  const results = new Map<string, { ok: boolean; error?: string }>();
  for (const line of run.stdout.split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { path: string; ok: boolean; error?: string };
    results.set(r.path, r);
  }
  return results;
}

function smallCnn(): Model {
  const b = new GraphBuilder('cnn');
  const x = b.input('x', 'float32', ['N', 3, 16, 16]);
  const w1 = b.initializer('w1', Float32Array.from({ length: 8 * 27 }, (_, i) => Math.sin(i)), [8, 3, 3, 3]);
  const b1 = b.initializer('b1', new Float32Array(8), [8]);
  let y = b.node('Relu', [b.node('Conv', [x, w1, b1], { pads: [1, 1, 1, 1] })]);
  y = b.node('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] });
  const scale = b.initializer('bn_scale', new Float32Array(8).fill(1), [8]);
  const bias = b.initializer('bn_bias', new Float32Array(8), [8]);
  const mean = b.initializer('bn_mean', new Float32Array(8), [8]);
  const variance = b.initializer('bn_var', new Float32Array(8).fill(1), [8]);
  y = b.node('BatchNormalization', [y, scale, bias, mean, variance], { epsilon: 1e-5 });
  y = b.node('HardSwish', [y]);
  const sizes = b.initializer('sizes', BigInt64Array.from([1n, 8n, 16n, 16n]), [4]);
  y = b.node('Resize', [y, null, null, sizes], { mode: 'nearest' });
  const pads = b.initializer('pads', BigInt64Array.from([0n, 0n, 1n, 1n, 0n, 0n, 1n, 1n]), [8]);
  y = b.node('Pad', [y, pads]);
  y = b.node('GlobalAveragePool', [y]);
  y = b.node('Flatten', [y]);
  const fc = b.initializer('fc', new Float32Array(10 * 8).fill(0.1), [10, 8]);
  y = b.node('Gemm', [y, fc], { transB: 1 });
  b.output(b.node('Softmax', [y], { axis: -1 }));
  return b.build({ opset: 17 });
}

function withSubgraph(): Model {
  const then = new GraphBuilder('then');
  then.output(then.node('Relu', ['x'], {}, { outputs: ['then_out'] }), 'float32', [2, 3]);
  const otherwise = new GraphBuilder('else');
  otherwise.output(otherwise.node('Neg', ['x'], {}, { outputs: ['else_out'] }), 'float32', [2, 3]);
  const b = new GraphBuilder('branchy');
  b.input('x', 'float32', [2, 3]);
  const cond = b.input('cond', 'bool', []);
  const y = b.node('If', [cond], { then_branch: then.buildGraph(), else_branch: otherwise.buildGraph() });
  const axes = b.initializer('axes', BigInt64Array.from([0n]), [1]);
  b.output(b.node('Unsqueeze', [y, axes]), 'float32', [1, 2, 3]);
  return b.build({ opset: 13, irVersion: 7 });
}

function large(): Model {
  const b = new GraphBuilder('external');
  const x = b.input('x', 'float32', [256, 256]);
  const w = b.initializer('w', Float32Array.from({ length: 256 * 256 }, (_, i) => i % 7), [256, 256]);
  b.output(b.node('MatMul', [x, w]));
  return b.build({ opset: 17 });
}

test('models saved by the IR pass onnx.checker full_check', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-ir-checker-'));
  try {
    const built: string[] = [];
    for (const [name, model, options] of [
      ['cnn.onnx', smallCnn(), {}],
      ['subgraph.onnx', withSubgraph(), {}],
      ['external.onnx', large(), { externalData: { threshold: 1024, fileName: 'external.weights' } }],
    ] as const) {
      await saveModel(model, join(dir, name), options);
      built.push(join(dir, name));
    }
    assert.ok(existsSync(join(dir, 'external.weights')));

    // Every 4th corpus model: the saved copy must pass whenever the original does. And every
    // corpus model that shape inference adds value_info to: the checker re-infers and compares.
    const pairs: [string, string][] = [];
    const inferred: [string, string][] = [];
    let index = 0;
    for (const suite of ['node', 'pytorch-converted', 'pytorch-operator', 'simple']) {
      const suiteDir = join(CORPUS, suite);
      if (!existsSync(suiteDir)) continue;
      for (const name of readdirSync(suiteDir).sort()) {
        const original = join(suiteDir, name, 'model.onnx');
        if (!existsSync(original)) continue;
        const outDir = join(dir, 'corpus', `${suite}-${name}`);
        const model = await loadModel(original);
        const withShapes = inferShapes(model);
        if (index++ % 4 !== 0 && !withShapes.modified) continue;
        mkdirSync(outDir, { recursive: true });
        if (index % 4 === 1) {
          await saveModel(model, join(outDir, 'model.onnx'));
          pairs.push([original, join(outDir, 'model.onnx')]);
        }
        if (withShapes.modified) {
          await saveModel(withShapes.model, join(outDir, 'inferred.onnx'));
          inferred.push([original, join(outDir, 'inferred.onnx')]);
        }
      }
    }
    const results = checkModels([...new Set([...built, ...pairs.flat(), ...inferred.flat()])]);
    for (const path of built) assert.deepEqual(results.get(path), { path, ok: true }, `built model ${path}`);
    let originalsPassing = 0;
    const regressions: string[] = [];
    for (const [original, saved] of pairs) {
      if (!results.get(original)?.ok) continue;
      originalsPassing++;
      if (!results.get(saved)?.ok) regressions.push(`${saved}: ${results.get(saved)?.error}`);
    }
    // Constant-1..8 only allows float outputs in its schema; old exporters wrote int64 constants
    // anyway, so the checker rejects the (correct) int64 type inference records for them.
    const schemaQuirk = /op_type:Constant\): output has unsupported type/;
    let inferredPassing = 0;
    for (const [original, saved] of inferred) {
      if (!results.get(original)?.ok) continue;
      const r = results.get(saved);
      if (r?.ok) inferredPassing++;
      else if (!schemaQuirk.test(r?.error ?? '')) regressions.push(`${saved} (shape inference of ${original}): ${r?.error}`);
    }
    console.log(`ir-checker: ${built.length} built models pass; corpus sample ${pairs.length}, ${originalsPassing} originals pass, ${regressions.length} failures`);
    console.log(`ir-checker: ${inferredPassing}/${inferred.length} corpus models with IR-inferred value_info pass full_check (others: Constant-1 schema quirk)`);
    assert.deepEqual(regressions, []);
    assert.ok(originalsPassing > 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
