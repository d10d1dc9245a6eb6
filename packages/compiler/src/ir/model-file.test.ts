import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxLoadError } from '../errors.js';
import { GraphBuilder } from './builder.js';
import { loadModel, loadModelSync, saveModel, saveModelSync } from './model-file.js';
import { encodeModel } from './serde.js';
import { tensorToTypedArray } from './tensor.js';

test('save/load with external data keeps large tensors in a side file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-serde-'));
  try {
    const b = new GraphBuilder('g');
    b.input('x', 'float32', [3000]);
    b.initializer('w', Float32Array.from({ length: 3000 }, (_, i) => i), [3000]);
    b.initializer('small', Float32Array.from([1]), [1]);
    b.output(b.node('Add', [b.node('Mul', ['x', 'w']), 'small']));
    const path = join(dir, 'model.onnx');
    await saveModel(b.build(), path, { externalData: { threshold: 1024, fileName: 'weights.bin' } });
    const loaded = await loadModel(path);
    const [w, small] = loaded.graph.initializers;
    assert.equal(w.external?.location, 'weights.bin');
    assert.equal(small.external, undefined);
    assert.equal(readFileSync(join(dir, 'weights.bin')).byteLength, 12000);
    assert.deepEqual(Array.from(tensorToTypedArray(w) as Float32Array).slice(0, 3), [0, 1, 2]);
    // Saving again without externalData inlines the tensor; sync variants behave the same.
    saveModelSync(loaded, join(dir, 'inline.onnx'));
    const inline = loadModelSync(join(dir, 'inline.onnx'));
    assert.equal(inline.graph.initializers[0].external, undefined);
    assert.deepEqual(tensorToTypedArray(inline.graph.initializers[0]), tensorToTypedArray(w));
    // Missing side file: a load error naming the location.
    rmSync(join(dir, 'weights.bin'));
    await assert.rejects(loadModel(path), (e: unknown) => e instanceof OnnxLoadError && /weights\.bin/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing, empty, truncated and random files are OnnxLoadErrors with one-line messages', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-serde-'));
  try {
    const b = new GraphBuilder('g');
    b.input('x', 'float32', [256]);
    b.initializer('w', new Float32Array(256), [256]);
    b.output(b.node('Add', ['x', 'w']));
    const good = encodeModel(b.build());
    const files: Record<string, Uint8Array> = {
      'empty.onnx': new Uint8Array(0),
      'truncated.onnx': good.subarray(0, Math.floor(good.byteLength / 2)),
      'text.onnx': new TextEncoder().encode('hello, this is not a model\n'),
    };
    let seed = 42;
    for (let i = 0; i < 20; i++) {
      files[`random${i}.onnx`] = Uint8Array.from({ length: 64 + i * 37 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
    }
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const expectLoadError = async (path: string, pattern: RegExp): Promise<void> => {
      await assert.rejects(loadModel(path), (e: unknown) => {
        assert.ok(e instanceof OnnxLoadError, `${path}: ${String(e)}`);
        assert.match(e.message, /^not an ONNX model: /);
        assert.match(e.message, pattern);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    };
    await expectLoadError(join(dir, 'missing.onnx'), /missing\.onnx: no such file/);
    await expectLoadError(join(dir, 'empty.onnx'), /empty file/);
    await expectLoadError(join(dir, 'truncated.onnx'), /truncated|no graph|no opset/);
    await expectLoadError(join(dir, 'text.onnx'), /.+/);
    for (let i = 0; i < 20; i++) await expectLoadError(join(dir, `random${i}.onnx`), /.+/);
    assert.throws(() => loadModelSync(dir), OnnxLoadError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
