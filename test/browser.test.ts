// The browser example in Debian's headless chromium: the page verifies a signed bundle with
// WebCrypto, passes the golden check on onnxruntime-web, classifies an image exactly as the Node
// runtime does, runs on (fake) webcam frames, and refuses a bundle signed by an untrusted key.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { generateKeyPair } from '@edgeloop/bundle';
import { bundleModel } from '@edgeloop/compiler';
import { Preprocessor, createNodeBackend, softmax } from '@edgeloop/runtime';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

interface PageState {
  ready: boolean;
  error: string | null;
  golden: { ok: boolean; pairs: number; maxAbs: number } | null;
  frames: number;
}

async function serve(bundle: string, trust: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, 'examples/browser/serve.mjs'), '--bundle', bundle, '--trust', trust, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) return { url: m[1]!, child };
  }
  throw new Error(`serve.mjs exited before listening: ${out}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => {
    const s = (globalThis as unknown as { edgeloop?: PageState }).edgeloop;
    return s !== undefined && (s.ready || s.error !== null);
  }, undefined, { timeout: 60_000 });
  return page;
}

describe('browser example (headless chromium)', () => {
  let dir: string;
  let browser: Browser;
  let server: { url: string; child: ChildProcess };
  const signer = generateKeyPair();
  const stranger = generateKeyPair();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-browser-e2e-'));
    writeFileSync(join(dir, 'signer.pub'), signer.publicKeyPem);
    writeFileSync(join(dir, 'stranger.pub'), stranger.publicKeyPem);
    await bundleModel({
      model: join(ROOT, 'examples/models/digits-cnn.onnx'),
      outPath: join(dir, 'digits.bundle'),
      privateKeyPem: signer.privateKeyPem,
      version: 1,
      targetProfile: 'browser-wasm',
    });
    server = await serve(join(dir, 'digits.bundle'), join(dir, 'signer.pub'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  });

  after(async () => {
    await browser?.close();
    if (server) await stop(server.child);
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the bundle and passes its golden check on onnxruntime-web', async () => {
    const page = await openPage(browser, server.url);
    const state = await page.evaluate(() => (globalThis as unknown as { edgeloop: PageState }).edgeloop);
    assert.equal(state.error, null);
    assert.equal(state.ready, true);
    assert.equal(state.golden?.ok, true);
    assert.equal(state.golden?.pairs, 2);
    assert.match(await page.textContent('#bundle-status') ?? '', /Verified digits-cnn v1/);
    await page.close();
  });

  it('classifies an image exactly as the Node runtime does', async () => {
    // A 28x28 grey "digit": a bright vertical bar with a foot, as PNG.
    const pixels = new Uint8Array(28 * 28);
    for (let y = 4; y < 24; y++) for (let x = 12; x < 16; x++) pixels[y * 28 + x] = 230;
    for (let x = 8; x < 20; x++) pixels[23 * 28 + x] = 200;
    const png = await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();

    const page = await openPage(browser, server.url);
    const inPage = await page.evaluate(async (url) => {
      const s = (globalThis as unknown as { edgeloop: { classifyUrl(u: string): Promise<{ probabilities: number[] }> } }).edgeloop;
      return s.classifyUrl(url);
    }, `data:image/png;base64,${png.toString('base64')}`);
    await page.close();

    const pre = new Preprocessor({ width: 28, height: 28, resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.1307], std: [0.3081] });
    const { tensor } = await pre.run(png);
    const session = await createNodeBackend().createSession(join(ROOT, 'examples/models/digits-cnn.onnx'), { providers: ['cpu'] });
    const out = await session.run({ image: tensor });
    await session.release();
    const expected = Array.from(softmax(out.logits!.data as Float32Array));
    assert.equal(inPage.probabilities.length, 10);
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(inPage.probabilities[i]! - expected[i]!) < 1e-5, `class ${i}: ${inPage.probabilities[i]} vs ${expected[i]}`);
  });

  it('runs on webcam frames', async () => {
    const page = await openPage(browser, server.url);
    await page.click('#camera');
    await page.waitForFunction(() => (globalThis as unknown as { edgeloop: PageState }).edgeloop.frames >= 5, undefined, { timeout: 30_000 });
    await page.close();
  });

  it('refuses a bundle signed by a key the page does not trust', async () => {
    const other = await serve(join(dir, 'digits.bundle'), join(dir, 'stranger.pub'));
    try {
      const page = await openPage(browser, other.url);
      const state = await page.evaluate(() => (globalThis as unknown as { edgeloop: PageState }).edgeloop);
      assert.equal(state.ready, false);
      assert.match(state.error ?? '', /untrusted key/);
      assert.match(await page.textContent('#bundle-status') ?? '', /Refused/);
      await page.close();
    } finally {
      await stop(other.child);
    }
  });
});
