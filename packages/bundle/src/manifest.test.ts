import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ManifestSchemaError, isBundleError } from './errors.js';
import { sampleManifestInput } from './fixtures.test.helpers.js';
import { ManifestSchema, validateManifest } from './manifest.js';
import type { Manifest, Preprocessing } from './manifest.js';

function sampleManifest(): Manifest {
  return {
    schemaVersion: 1,
    createdAt: '2026-11-28T12:00:00.000Z',
    members: [
      { path: 'model.onnx', size: 10, sha256: 'b'.repeat(64), role: 'model' },
      { path: 'golden/0/input.bin', size: 64, sha256: 'c'.repeat(64), role: 'golden' },
      { path: 'golden/0/logits.bin', size: 12, sha256: 'd'.repeat(64), role: 'golden' },
    ],
    ...sampleManifestInput(),
  } as Manifest;
}

function violationsOf(json: unknown): string {
  try {
    validateManifest(json);
  } catch (error) {
    assert.ok(error instanceof ManifestSchemaError);
    assert.ok(isBundleError(error, 'MANIFEST_SCHEMA'));
    assert.ok(!error.message.includes('\n'), 'one-line message');
    return error.message;
  }
  assert.fail('expected ManifestSchemaError');
}

describe('validateManifest', () => {
  it('accepts a complete manifest and returns it typed', () => {
    const manifest = sampleManifest();
    assert.equal(validateManifest(manifest), manifest);
  });

  it('exports a JSON Schema with an id', () => {
    assert.equal(ManifestSchema.$id, 'https://edgeloop.dev/schemas/manifest-v1.json');
    assert.equal(ManifestSchema.type, 'object');
    assert.ok(ManifestSchema.required?.includes('members'));
  });

  it('keeps the Preprocessing shape other packages code against', () => {
    const pre: Preprocessing = {
      width: 224,
      height: 224,
      resize: 'letterbox',
      colorOrder: 'BGR',
      layout: 'NHWC',
      dtype: 'uint8',
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      letterboxColor: [114, 114, 114],
    };
    const manifest = sampleManifest();
    manifest.model.inputs[0].preprocessing = pre;
    validateManifest(manifest);
  });

  it('lists violations with JSON paths, the first few only', () => {
    const manifest = sampleManifest() as unknown as Record<string, unknown>;
    manifest.version = 0;
    manifest.task = 'segmentation';
    (manifest.model as Record<string, unknown>).opset = 1.5;
    manifest.unknownField = true;
    manifest.labels = [1];
    manifest.name = 'has space';
    const message = violationsOf(manifest);
    assert.match(message, /^manifest invalid: /);
    assert.match(message, /\/version: /);
    assert.match(message, /\/task: /);
    assert.match(message, /\(\+\d+ more\)$/);
  });

  it('rejects non-objects and a future schema version', () => {
    assert.match(violationsOf(null), /manifest invalid: \/: /);
    assert.match(violationsOf({ ...sampleManifest(), schemaVersion: 2 }), /\/schemaVersion/);
  });

  it('checks cross-field rules: model member, golden sizes, unsafe or duplicate paths, channel counts', () => {
    const noModel = sampleManifest();
    noModel.model.path = 'missing.onnx';
    assert.match(violationsOf(noModel), /\/model\/path: model missing\.onnx is not a member/);

    const wrongRole = sampleManifest();
    wrongRole.members[0].role = 'extra';
    assert.match(violationsOf(wrongRole), /has role extra, expected model/);

    const badGolden = sampleManifest();
    badGolden.members[2].size = 8;
    assert.match(violationsOf(badGolden), /golden\/0\/logits\.bin is 8 bytes but float32\[1,3\] needs 12/);

    const wrongName = sampleManifest();
    wrongName.golden[0].outputs = { probs: wrongName.golden[0].outputs.logits };
    assert.match(violationsOf(wrongName), /\/golden\/0\/outputs\/probs: no model output named probs/);

    const traversal = sampleManifest();
    traversal.members.push({ path: '../x', size: 1, sha256: 'e'.repeat(64), role: 'extra' });
    assert.match(violationsOf(traversal), /unsafe member path/);

    const duplicate = sampleManifest();
    duplicate.members.push({ ...duplicate.members[1] });
    assert.match(violationsOf(duplicate), /duplicate member golden\/0\/input\.bin/);

    const reserved = sampleManifest();
    reserved.members.push({ path: 'manifest.json', size: 1, sha256: 'e'.repeat(64), role: 'extra' });
    assert.match(violationsOf(reserved), /reserved/);

    const channels = sampleManifest();
    const pre = channels.model.inputs[0].preprocessing as Preprocessing;
    pre.colorOrder = 'RGB';
    pre.mean = [0.1, 0.2];
    assert.match(violationsOf(channels), /preprocessing\/mean: expected 1 or 3 values for RGB, got 2/);

    const badDate = sampleManifest();
    badDate.createdAt = '2026-13-45T99:00:00Z';
    assert.match(violationsOf(badDate), /\/createdAt/);
  });
});
