// The `edgeloop` command as a user runs it: a child process, real files, exit codes, and one
// clear line on stderr for every kind of bad input (never a stack dump).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectBundle } from '@edgeloop/bundle';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const EXAMPLE = join(ROOT, 'examples/models/digits-cnn.onnx');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function edgeloop(args: string[], cwd: string): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, EDGELOOP_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: non-zero exit, exactly one line on stderr starting with `edgeloop:`, no stack. */
function assertOneLineError(r: Run, pattern: RegExp): void {
  assert.notEqual(r.status, 0, `expected failure, got 0; stdout: ${r.stdout}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr should be one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^edgeloop: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('edgeloop --help', () => {
  for (const cmd of [[], ['inspect'], ['keys'], ['keys', 'generate'], ['bundle'], ['bundle', 'create'], ['bundle', 'verify'], ['bundle', 'inspect']]) {
    it(`${cmd.join(' ') || '(top level)'} --help exits 0 and describes usage`, () => {
      const r = edgeloop([...cmd, '--help'], dir);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /edgeloop/);
      assert.match(r.stdout, /--help/);
    });
  }
  it('no command is a usage error', () => {
    assertOneLineError(edgeloop([], dir), /Name a command/);
  });
  it('an unknown option is a usage error with exit code 2', () => {
    const r = edgeloop(['inspect', EXAMPLE, '--frobnicate'], dir);
    assertOneLineError(r, /Unknown argument/);
    assert.equal(r.status, 2);
  });
});

describe('edgeloop inspect', () => {
  it('summarizes the example model', () => {
    const r = edgeloop(['inspect', EXAMPLE], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /opsets: ai\.onnx 17/);
    assert.match(r.stdout, /image\s+float32\s+\[batch, 1, 28, 28\]/);
    assert.match(r.stdout, /parameters: 9,098/);
    assert.match(r.stdout, /Conv\s+2/);
  });
  it('--json gives opsets, I/O, op counts, parameters and file size', () => {
    const r = edgeloop(['inspect', EXAMPLE, '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(s.opsets, [{ domain: 'ai.onnx', version: 17 }]);
    assert.deepEqual(s.inputs, [{ name: 'image', dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
    assert.deepEqual(s.outputs, [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }]);
    assert.deepEqual(s.nodeCountByOpType, { Conv: 2, Relu: 2, MaxPool: 2, Flatten: 1, Gemm: 1 });
    assert.equal(s.parameterCount, 8 * 9 + 8 + 16 * 8 * 9 + 16 + 10 * 784 + 10);
    assert.equal(s.fileSize, statSync(EXAMPLE).size);
  });
  it('a missing file is one line', () => {
    assertOneLineError(edgeloop(['inspect', join(dir, 'missing.onnx')], dir), /missing\.onnx.*no such file/);
  });
  it('a truncated model is one line', () => {
    const bytes = readFileSync(EXAMPLE);
    const truncated = join(dir, 'truncated.onnx');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    assertOneLineError(edgeloop(['inspect', truncated], dir), /not an ONNX model/);
  });
  it('a text file is one line', () => {
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'this is not a model\n'.repeat(20));
    assertOneLineError(edgeloop(['inspect', text], dir), /not an ONNX model/);
  });
  it('--json errors are JSON on stdout as well', () => {
    const r = edgeloop(['inspect', join(dir, 'missing.onnx'), '--json'], dir);
    assert.notEqual(r.status, 0);
    const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(out.ok, false);
    assert.match(out.error.message, /no such file/);
  });
});

describe('edgeloop keys and bundle', () => {
  it('generates a key pair with a private key of mode 0600 and refuses to overwrite it', () => {
    const r = edgeloop(['keys', 'generate', '-o', 'release', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { keyId: string; privateKeyPath: string; publicKeyPath: string };
    assert.match(out.keyId, /^[0-9a-f]{16}$/);
    assert.equal(statSync(join(dir, 'release.key')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, 'release.pub'), 'utf8'), /BEGIN PUBLIC KEY/);
    assertOneLineError(edgeloop(['keys', 'generate', '-o', 'release'], dir), /already exists/);
    assert.equal(edgeloop(['keys', 'generate', '-o', 'stranger'], dir).status, 0);
    // Output folders that do not exist yet are created (as the README's examples rely on).
    assert.equal(edgeloop(['keys', 'generate', '-o', join('new-folder', 'nested', 'k')], dir).status, 0);
    assert.equal(statSync(join(dir, 'new-folder', 'nested', 'k.key')).mode & 0o777, 0o600);
  });

  it('creates, inspects and verifies a bundle', async () => {
    const r = edgeloop(['bundle', 'create', EXAMPLE, '-o', 'digits.bundle', '-k', 'release.key', '--bundle-version', '3', '--target', 'raspberry-pi-4'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote digits\.bundle/);
    const info = await inspectBundle(join(dir, 'digits.bundle'));
    assert.equal(info.manifest.version, 3);
    assert.equal(info.manifest.targetProfile, 'raspberry-pi-4');
    assert.equal(info.manifest.task, 'classification');
    assert.deepEqual(info.manifest.labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(info.manifest.golden.length, 2);
    assert.deepEqual(info.manifest.model.inputs[0]!.preprocessing, {
      width: 28, height: 28, resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.1307], std: [0.3081],
    });

    const inspect = edgeloop(['bundle', 'inspect', 'digits.bundle'], dir);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.match(inspect.stdout, /name digits-cnn\s+version 3/);

    const nested = edgeloop(['bundle', 'create', EXAMPLE, '-o', join('out', 'nested', 'd.bundle'), '-k', 'release.key'], dir);
    assert.equal(nested.status, 0, nested.stderr);
    assert.ok(statSync(join(dir, 'out', 'nested', 'd.bundle')).size > 0);

    const verify = edgeloop(['bundle', 'verify', 'digits.bundle', '--trust', 'release.pub'], dir);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /OK/);
    const verifyJson = edgeloop(['bundle', 'verify', 'digits.bundle', '--trust', dir, '--json'], dir);
    assert.equal(verifyJson.status, 0, verifyJson.stderr);
    assert.equal((JSON.parse(verifyJson.stdout) as { ok: boolean }).ok, true);
  });

  it('refuses a bundle signed by an untrusted key, naming the key', () => {
    const r = edgeloop(['bundle', 'verify', 'digits.bundle', '--trust', 'stranger.pub'], dir);
    assertOneLineError(r, /signature: bundle signed by untrusted key [0-9a-f]{16}/);
  });

  it('names the member whose bytes were altered', async () => {
    const info = await inspectBundle(join(dir, 'digits.bundle'));
    const model = info.members.find((m) => m.path === 'model.onnx')!;
    const bytes = readFileSync(join(dir, 'digits.bundle'));
    bytes[model.offset + 100] = bytes[model.offset + 100]! ^ 0xff;
    writeFileSync(join(dir, 'altered-member.bundle'), bytes);
    assertOneLineError(edgeloop(['bundle', 'verify', 'altered-member.bundle', '--trust', 'release.pub'], dir), /member:model\.onnx/);
  });

  it('says the signature failed when the manifest was altered', () => {
    const bytes = readFileSync(join(dir, 'digits.bundle'));
    const text = bytes.toString('latin1');
    const match = /"version":\s*3/.exec(text);
    assert.ok(match, 'manifest holds the version');
    bytes.write(match[0].replace('3', '9'), match.index, 'latin1');
    writeFileSync(join(dir, 'altered-manifest.bundle'), bytes);
    assertOneLineError(edgeloop(['bundle', 'verify', 'altered-manifest.bundle', '--trust', 'release.pub'], dir), /signature/);
  });

  it('reports truncated, missing and non-bundle files in one line', () => {
    const bytes = readFileSync(join(dir, 'digits.bundle'));
    writeFileSync(join(dir, 'truncated.bundle'), bytes.subarray(0, 3000));
    assertOneLineError(edgeloop(['bundle', 'verify', 'truncated.bundle', '--trust', 'release.pub'], dir), /verification failed/);
    assertOneLineError(edgeloop(['bundle', 'inspect', 'truncated.bundle'], dir), /truncated|bundle/);
    assertOneLineError(edgeloop(['bundle', 'inspect', 'nope.bundle'], dir), /not found|no such file/);
    copyFileSync(EXAMPLE, join(dir, 'model-not-bundle.bundle'));
    assertOneLineError(edgeloop(['bundle', 'inspect', 'model-not-bundle.bundle'], dir), /bundle/);
  });

  it('refuses bad create inputs without leaving a partial bundle', () => {
    assertOneLineError(
      edgeloop(['bundle', 'create', join(dir, 'truncated.onnx'), '-o', 'bad.bundle', '-k', 'release.key'], dir),
      /not an ONNX model/,
    );
    assertOneLineError(edgeloop(['bundle', 'create', EXAMPLE, '-o', 'bad.bundle', '-k', 'release.pub'], dir), /key/i);
    assertOneLineError(
      edgeloop(['bundle', 'create', EXAMPLE, '-o', 'bad.bundle', '-k', 'release.key', '--target', 'toaster'], dir),
      /toaster/,
    );
    assertOneLineError(
      edgeloop(['bundle', 'create', EXAMPLE, '-o', 'bad.bundle', '-k', 'release.key', '--bundle-version', '0'], dir),
      /positive integer/,
    );
    assert.throws(() => statSync(join(dir, 'bad.bundle')), /ENOENT/);
  });
});

describe('edgeloop run', () => {
  it('runs a bundle over a folder, counting and skipping a corrupt frame', async () => {
    const { mkdirSync } = await import('node:fs');
    const sharp = (await import('sharp')).default;
    const frames = join(dir, 'frames');
    mkdirSync(frames, { recursive: true });
    for (let i = 0; i < 4; i++) {
      const px = Buffer.alloc(28 * 28, i * 40);
      await sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).jpeg().toFile(join(frames, `f${i}.jpg`));
    }
    writeFileSync(join(frames, 'f9-corrupt.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    const r = edgeloop(['run', '-b', 'digits.bundle', '-t', 'release.pub', '-s', 'frames', '--json', '--summary-interval', '0'], dir);
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    assert.equal(events[0]!.type, 'start');
    const framesSeen = events.filter((e) => e.type === 'frame');
    const predicted = framesSeen.filter((f) => f.prediction !== undefined);
    assert.equal(predicted.length, 4);
    for (const f of predicted) assert.match(String((f.prediction as { label: string }).label), /^[0-9]$/);
    const skipped = framesSeen.filter((f) => f.skipped !== undefined);
    assert.deepEqual(skipped.map((f) => [f.skipped, (f.frame as { origin: string }).origin.endsWith('f9-corrupt.jpg')]), [['decode', true]]);
    const done = events.find((e) => e.type === 'done') as { summary: { decodeErrors: number; skipped: { decode: number } } } | undefined;
    assert.ok(done, 'a final summary');
    assert.equal(done.summary.decodeErrors, 1);
    assert.equal(done.summary.skipped.decode, 1);
  });

  it('refuses a bundle from an untrusted signer in one line', () => {
    assertOneLineError(edgeloop(['run', '-b', 'digits.bundle', '-t', 'stranger.pub', '-s', 'frames'], dir), /untrusted key/);
  });
});
