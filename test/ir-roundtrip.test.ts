// Round trip over the ONNX backend test corpus: every model onnxruntime-node can run is loaded with
// the IR, saved again, and run; the saved model must give bit-identical outputs to the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, dataTypeName, decodeTensor, loadModel, saveModel, tensorStrings, tensorToTypedArray } from '@edgeloop/compiler';
import type { Tensor } from '@edgeloop/compiler';

const CORPUS = '/usr/share/libonnx-testdata/data';
const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];
const ORT_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 };

class Skip extends Error {}

function toOrtTensor(t: Tensor): ort.Tensor {
  const type = dataTypeName(t.dataType);
  if (!ORT_TYPES.has(type)) throw new Skip(`input dtype ${type} not feedable`);
  if (type === 'string') return new ort.Tensor('string', tensorStrings(t), t.dims);
  return new ort.Tensor(type as 'float32', tensorToTypedArray(t) as Float32Array, t.dims);
}

type Outputs = Record<string, ort.Tensor>;

function sameBits(a: ort.Tensor, b: ort.Tensor): boolean {
  if (a.type !== b.type || a.dims.join(',') !== b.dims.join(',')) return false;
  if (a.type === 'string') return JSON.stringify(a.data) === JSON.stringify(b.data);
  const x = a.data as Uint8Array;
  const y = b.data as Uint8Array;
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

function closeTo(actual: ort.Tensor, expected: Tensor): boolean {
  if (actual.dims.join(',') !== expected.dims.join(',')) return false;
  if (actual.type === 'string') return JSON.stringify(actual.data) === JSON.stringify(tensorStrings(expected));
  const want = Array.from(tensorToTypedArray(expected) as ArrayLike<number | bigint>, Number);
  const got = Array.from(actual.data as ArrayLike<number | bigint>, Number);
  if (want.length !== got.length) return false;
  return want.every((w, i) => (Number.isNaN(w) && Number.isNaN(got[i])) || Math.abs(got[i] - w) <= 1e-7 + 1e-3 * Math.abs(w));
}

async function run(modelPath: string, feeds: Record<string, ort.Tensor>): Promise<Outputs> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, SESSION_OPTIONS);
  } catch (err) {
    throw new Skip(`onnxruntime cannot load the model`, { cause: err });
  }
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

interface Case {
  dir: string;
  datasets: string[];
}

function listCases(): Case[] {
  const cases: Case[] = [];
  for (const suite of SUITES) {
    const suiteDir = join(CORPUS, suite);
    if (!existsSync(suiteDir)) continue;
    for (const name of readdirSync(suiteDir).sort()) {
      const dir = join(suiteDir, name);
      if (!existsSync(join(dir, 'model.onnx'))) continue;
      cases.push({ dir, datasets: readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort() });
    }
  }
  return cases;
}

function readPbs(dir: string, prefix: string): Tensor[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)))
    .map((f) => decodeTensor(readFileSync(join(dir, f)), { source: join(dir, f) }));
}

test('IR load/save round trip over the ONNX backend test corpus is bit-exact in onnxruntime', { timeout: 600_000 }, async () => {
  const cases = listCases();
  assert.ok(cases.length > 0, `no corpus under ${CORPUS}`);
  const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-ir-roundtrip-'));
  const skipped = new Map<string, number>();
  const skip = (reason: string): void => void skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  const mismatches: string[] = [];
  let checked = 0;
  let datasetsChecked = 0;
  let matchReference = 0;
  try {
    for (const [index, c] of cases.entries()) {
      const original = join(c.dir, 'model.onnx');
      const model = await loadModel(original);
      const graphInputs = model.graph.inputs.filter((v) => !model.graph.initializers.some((t) => t.name === v.name));
      if ([...graphInputs, ...model.graph.outputs].some((v) => v.type !== null && v.type.kind !== 'tensor')) {
        skip('sequence/optional/map input or output');
        continue;
      }
      const saved = join(tmp, `model_${index}.onnx`);
      await saveModel(model, saved);
      let ok = true;
      let refOk = true;
      let ran = 0;
      for (const ds of c.datasets) {
        const dsDir = join(c.dir, ds);
        let feeds: Record<string, ort.Tensor>;
        let expected: Tensor[];
        try {
          const inputs = readPbs(dsDir, 'input_');
          expected = readPbs(dsDir, 'output_');
          feeds = {};
          inputs.forEach((t, i) => {
            const name = graphInputs.some((v) => v.name === t.name) ? t.name : graphInputs[i]?.name;
            if (name !== undefined) feeds[name] = toOrtTensor(t);
          });
        } catch (err) {
          skip(err instanceof Skip ? err.message : 'input file is not a TensorProto');
          ok = false;
          break;
        }
        let want: Outputs;
        try {
          want = await run(original, feeds);
        } catch (err) {
          skip(err instanceof Skip ? err.message : 'onnxruntime cannot run the original with the shipped inputs');
          ok = false;
          break;
        }
        const got = await run(saved, feeds);
        const names = Object.keys(want);
        const identical = names.every((n) => got[n] !== undefined && sameBits(want[n], got[n]));
        if (!identical) {
          // Random ops (Bernoulli, RandomNormal, ...) differ run to run; tell those apart by rerunning.
          const again = await run(original, feeds);
          if (!names.every((n) => sameBits(want[n], again[n]))) {
            skip('nondeterministic outputs');
            ok = false;
            break;
          }
          mismatches.push(`${c.dir}/${ds}`);
        }
        const outputNames = model.graph.outputs.map((o) => o.name);
        refOk &&= expected.every((e, i) => want[outputNames[i]] !== undefined && closeTo(want[outputNames[i]], e));
        ran++;
        datasetsChecked++;
      }
      if (ok && ran > 0) {
        checked++;
        if (refOk) matchReference++;
      } else if (ok) skip('no test data sets');
      rmSync(saved, { force: true });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const skipLines = [...skipped].map(([reason, n]) => `  skipped ${n}: ${reason}`);
  console.log(
    [
      `ir-roundtrip: ${cases.length} corpus models; ${checked} checked (${datasetsChecked} data sets), saved == original bit-for-bit`,
      `ir-roundtrip: ${matchReference}/${checked} also match the shipped reference outputs within rtol 1e-3`,
      ...skipLines,
      `ir-roundtrip: ${mismatches.length} mismatches`,
    ].join('\n'),
  );
  assert.deepEqual(mismatches, []);
  assert.ok(checked >= 300, `only ${checked} models checked`);
});

test('a built model saved with external data runs in onnxruntime, before and after an IR reload', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-ir-external-'));
  try {
    const b = new GraphBuilder('mlp');
    const x = b.input('x', 'float32', ['N', 64]);
    const w1 = b.initializer('w1', Float32Array.from({ length: 64 * 128 }, (_, i) => Math.sin(i) / 8), [64, 128]);
    const w2 = b.initializer('w2', Float32Array.from({ length: 128 * 10 }, (_, i) => Math.cos(i) / 8), [128, 10]);
    const bias = b.initializer('bias', Float32Array.from({ length: 10 }, (_, i) => i / 10), [10]);
    b.output(b.node('Add', [b.node('MatMul', [b.node('Relu', [b.node('MatMul', [x, w1])]), w2]), bias]));
    const model = b.build({ opset: 17 });
    const external = join(tmp, 'mlp.onnx');
    await saveModel(model, external, { externalData: { threshold: 1024, fileName: 'mlp.weights' } });
    const inline = join(tmp, 'inline.onnx');
    await saveModel(await loadModel(external), inline);
    const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: 2 * 64 }, (_, i) => (i % 13) - 6), [2, 64]) };
    const [a, c] = [await run(external, feeds), await run(inline, feeds)];
    const name = model.graph.outputs[0].name;
    assert.deepEqual(a[name].dims, [2, 10]);
    assert.ok(sameBits(a[name], c[name]));
    // Reference: the same computation in JS (float64, so compare with a tolerance).
    const xs = feeds.x.data as Float32Array;
    const w1v = tensorToTypedArray(model.graph.initializers[0]) as Float32Array;
    const w2v = tensorToTypedArray(model.graph.initializers[1]) as Float32Array;
    for (let r = 0; r < 2; r++) {
      const hidden = Array.from({ length: 128 }, (_, j) => Math.max(0, xs.slice(r * 64, r * 64 + 64).reduce((s, v, k) => s + v * w1v[k * 128 + j], 0)));
      for (let j = 0; j < 10; j++) {
        const want = hidden.reduce((s, v, k) => s + v * w2v[k * 10 + j], 0) + j / 10;
        assert.ok(Math.abs((a[name].data as Float32Array)[r * 10 + j] - want) < 1e-3);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
