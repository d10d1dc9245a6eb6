import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompileError } from '../errors.js';
import { loadCalibrationSet, parseNpy } from './samples.js';

function npy(shape: number[], values: Float32Array, descr = '<f4'): Uint8Array {
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const padded = `${header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11, ' ')}\n`;
  const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, padded.length & 0xff, padded.length >> 8]), Buffer.from(padded)]);
  return Buffer.concat([head, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

describe('calibration samples', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-samples-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const input = { name: 'x', dims: [1, 2, 2] };

  it('parses float32 .npy files and refuses other dtypes', () => {
    const parsed = parseNpy(npy([2, 2], Float32Array.of(1, 2, 3, 4)), 'a.npy');
    assert.deepEqual(parsed.shape, [2, 2]);
    assert.deepEqual(Array.from(parsed.data), [1, 2, 3, 4]);
    assert.throws(() => parseNpy(npy([2], Float32Array.of(1, 2), '<f8'), 'b.npy'), /dtype <f8/);
    assert.throws(() => parseNpy(Uint8Array.of(1, 2, 3), 'c.npy'), /not a \.npy/);
  });

  it('loads .bin and .npy tensors in name order, with a limit', async () => {
    const folder = join(dir, 'tensors');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.bin'), new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer));
    writeFileSync(join(folder, 'b.npy'), npy([1, 2, 2], Float32Array.of(5, 6, 7, 8)));
    writeFileSync(join(folder, 'c.bin'), new Uint8Array(Float32Array.of(9, 9, 9, 9).buffer));
    const set = await loadCalibrationSet(folder, input, 2);
    assert.equal(set.kind, 'tensors');
    assert.deepEqual(set.samples.map((s) => Array.from(s.data)), [[1, 2, 3, 4], [5, 6, 7, 8]]);
    assert.deepEqual(set.samples[1].dims, [1, 2, 2]);
  });

  it('refuses mixed folders, NaN tensors, wrong shapes and empty folders', async () => {
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    writeFileSync(join(mixed, 'a.bin'), new Uint8Array(16));
    writeFileSync(join(mixed, 'b.png'), 'x');
    await assert.rejects(loadCalibrationSet(mixed, input), /mixes images \(1\) and tensors \(1\)/);
    const nan = join(dir, 'nan');
    mkdirSync(nan);
    writeFileSync(join(nan, 'a.bin'), new Uint8Array(Float32Array.of(1, Number.NaN, 0, 0).buffer));
    await assert.rejects(loadCalibrationSet(nan, input), /NaN/);
    const shape = join(dir, 'shape');
    mkdirSync(shape);
    writeFileSync(join(shape, 'a.npy'), npy([4], Float32Array.of(1, 2, 3, 4)));
    await assert.rejects(loadCalibrationSet(shape, input), /shape \(4\), input 'x' takes \[1, 2, 2\]/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await assert.rejects(loadCalibrationSet(empty, input), (e: unknown) => e instanceof CompileError && /holds no images/.test(e.message));
    await assert.rejects(loadCalibrationSet(join(dir, 'missing'), input), /no such directory/);
  });
});
