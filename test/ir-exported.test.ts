// Real PyTorch exports (test/fixtures/exported, made by scripts/export-torch-fixtures.py with
// seeded weights): the IR loads them, shape inference types every output from scratch with exact
// dims (symbolic where the export declares a dynamic axis; the Shape -> Gather -> Concat -> Reshape
// chains are resolved by data propagation), and a load/save round trip runs in onnxruntime with
// bit-identical outputs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, inferShapes } from '@edgeloop/compiler';

const DIR = new URL('../../test/fixtures/exported/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as {
  models: { file: string; opset: number; input_shape: number[]; output_shape: number[] }[];
};

async function runOnce(bytes: Uint8Array, input: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const out = await session.run({ input: new ort.Tensor('float32', input, shape) });
    return out.output!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('real PyTorch exports', () => {
  for (const m of manifest.models) {
    it(`${m.file} (opset ${m.opset}) round-trips bit-identically and its output shape is inferred`, async () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, m.file)));
      const model = decodeModel(bytes, { source: m.file });
      assert.equal(model.opsetImports.find((o) => o.domain === '')?.version, m.opset);

      // Expected dims: the manifest's sizes, except where the model declares a symbolic (dynamic) dim.
      const declared = model.graph.outputs[0]!.type;
      assert.ok(declared?.kind === 'tensor' && declared.shape);
      const expected = m.output_shape.map((d, i) => (typeof declared.shape![i] === 'string' ? declared.shape![i] : d));

      const stripped = { ...model, graph: { ...model.graph, valueInfo: [], outputs: model.graph.outputs.map((o) => ({ name: o.name, type: null })) } };
      const { model: inferredModel, issues } = inferShapes(stripped);
      assert.deepEqual(issues, [], 'every node has a shape handler');
      const inferred = inferredModel.graph.outputs[0]!;
      assert.ok(inferred.type?.kind === 'tensor', 'output typed');
      assert.equal(inferred.type.elemType, declared.elemType);
      assert.deepEqual(inferred.type.shape, expected);
      // Not just the output: every intermediate value gets a rank and no unknown dim.
      const vague = inferredModel.graph.valueInfo.filter((v) => v.type?.kind !== 'tensor' || !v.type.shape || v.type.shape.includes(null));
      assert.deepEqual(vague.map((v) => v.name), []);

      const input = Float32Array.from({ length: m.input_shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37));
      const original = await runOnce(bytes, input, m.input_shape);
      const saved = await runOnce(encodeModel(model), input, m.input_shape);
      assert.deepEqual(saved, original);
    });
  }
});
