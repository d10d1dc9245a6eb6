import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { BundleFormatError } from './errors.js';
import { fakeModelBytes, sampleManifestInput, sampleMembers, testKeys, withTempDir } from './fixtures.test.helpers.js';
import { BLOCK_SIZE, encodeHeader, parseHeader } from './format.js';
import type { ReadSource } from './format.js';
import { TrustStore } from './keys.js';
import { createBundle } from './pack.js';
import { FileSource, scanBundle } from './scan.js';

describe('ustar headers', () => {
  it('round-trips paths, including long ones split into prefix + name', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}.bin`;
    for (const path of ['model.onnx', 'golden/0/input.bin', long]) {
      const header = parseHeader(encodeHeader({ path, size: 12345, mtime: 1_700_000_000 }), 0);
      assert.deepEqual(header, { path, size: 12345, typeflag: '0' });
    }
    assert.throws(() => encodeHeader({ path: 'x'.repeat(101), size: 1, mtime: 0 }), /too long/);
  });

  it('detects a corrupted header checksum and non-ustar blocks', () => {
    const block = encodeHeader({ path: 'model.onnx', size: 10, mtime: 0 });
    block[130] = '7'.charCodeAt(0);
    assert.throws(() => parseHeader(block, 1024), /checksum mismatch at byte 1024/);
    const other = new Uint8Array(BLOCK_SIZE).fill(0x41);
    assert.throws(() => parseHeader(other, 0), BundleFormatError);
    assert.equal(parseHeader(new Uint8Array(BLOCK_SIZE), 0), null);
  });
});

/** Wraps a file so the test sees every read the scanner makes. */
class RecordingSource implements ReadSource {
  readonly reads: number[] = [];
  constructor(private readonly inner: FileSource) {}
  get size(): number {
    return this.inner.size;
  }
  read(buffer: Uint8Array, position: number): Promise<number> {
    this.reads.push(buffer.byteLength);
    return this.inner.read(buffer, position);
  }
}

describe('streaming verification', () => {
  it('reads a bundle in bounded chunks, never the whole file at once', async () => {
    await withTempDir(async (dir) => {
      const keys = testKeys();
      const outPath = join(dir, 'big.bundle');
      const model = fakeModelBytes(4 * 1024 * 1024 + 123);
      const created = await createBundle({
        outPath,
        manifest: sampleManifestInput(),
        members: sampleMembers(model),
        privateKeyPem: keys.privateKeyPem,
      });
      const file = await FileSource.open(outPath);
      try {
        const source = new RecordingSource(file);
        const chunkBytes = 64 * 1024;
        const scan = await scanBundle(source, {
          trust: TrustStore.fromPems([keys.publicKeyPem]),
          hashMembers: true,
          chunkBytes,
          report: (_check, error) => {
            if (error !== null) throw error;
          },
        });
        assert.equal(scan.fileSha256, created.sha256);
        assert.ok(source.reads.length > model.length / chunkBytes, `${source.reads.length} reads`);
        const largest = Math.max(...source.reads);
        assert.ok(largest <= chunkBytes, `largest single read ${largest} bytes`);
        // Every byte is read exactly once (no re-reads, nothing skipped when hashing).
        assert.equal(source.reads.reduce((a, b) => a + b, 0), created.bytes);
      } finally {
        await file.close();
      }
      assert.equal((await readFile(outPath)).length, created.bytes);
    });
  });

  it('jumps over member data when only inspecting', async () => {
    await withTempDir(async (dir) => {
      const keys = testKeys();
      const outPath = join(dir, 'big.bundle');
      const model = fakeModelBytes(2 * 1024 * 1024);
      const created = await createBundle({ outPath, manifest: sampleManifestInput(), members: sampleMembers(model), privateKeyPem: keys.privateKeyPem });
      const file = await FileSource.open(outPath);
      try {
        const source = new RecordingSource(file);
        const scan = await scanBundle(source, { trust: 'skip-signature', hashMembers: false, report: () => undefined });
        assert.equal(scan.fileSha256, undefined);
        assert.ok(source.reads.reduce((a, b) => a + b, 0) < created.bytes - model.length);
      } finally {
        await file.close();
      }
    });
  });
});
