// The browser example: fetch a bundle and a trusted public key, verify the bundle with WebCrypto,
// check its golden pairs with onnxruntime-web (WASM), then classify images and webcam frames
// exactly as the manifest's preprocessing says. State is exposed on window.edgeloop for tests.
import * as ort from '/ort/ort.wasm.min.mjs';
import { openBundleBytes } from '/lib/bundle/browser.js';
import { rgbaToTensor } from '/lib/runtime/browser/image-tensor.js';

ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

const params = new URLSearchParams(location.search);
const bundleUrl = params.get('bundle') ?? '/demo/model.bundle';
const keyUrl = params.get('trust') ?? '/demo/trust.pub';
const $ = (id) => document.getElementById(id);
const state = { ready: false, error: null, golden: null, last: null, frames: 0 };
window.edgeloop = state;

function softmax(logits) {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / sum);
}

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function ortTensor(t) {
  return new ort.Tensor(t.dtype, t.data, t.dims);
}

async function goldenCheck(bundle, session) {
  let maxAbs = 0;
  for (const [k, pair] of bundle.manifest.golden.entries()) {
    const feeds = {};
    for (const [name, ref] of Object.entries(pair.inputs)) feeds[name] = ortTensor(bundle.tensor(ref));
    const out = await session.run(feeds);
    for (const [name, ref] of Object.entries(pair.outputs)) {
      const want = bundle.tensor(ref).data;
      const got = out[name].data;
      for (let i = 0; i < want.length; i++) {
        const diff = Math.abs(Number(got[i]) - Number(want[i]));
        maxAbs = Math.max(maxAbs, diff);
        if (!(diff <= pair.tolerance.abs + pair.tolerance.rel * Math.abs(Number(want[i])))) {
          return { ok: false, pairs: bundle.manifest.golden.length, maxAbs, reason: `pair ${k} output ${name}[${i}]: ${got[i]} vs ${want[i]}` };
        }
      }
    }
  }
  return { ok: true, pairs: bundle.manifest.golden.length, maxAbs };
}

let bundle;
let session;
let input;
let pre;
const canvas = $('preview');

async function classifyDrawable(source, width, height) {
  canvas.width = pre.width;
  canvas.height = pre.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  if (pre.resize === 'letterbox' || pre.resize === 'center-crop') {
    const scale = pre.resize === 'letterbox' ? Math.min(pre.width / width, pre.height / height) : Math.max(pre.width / width, pre.height / height);
    const w = width * scale;
    const h = height * scale;
    const fill = pre.letterboxColor ?? [114];
    ctx.fillStyle = `rgb(${fill[0]}, ${fill[1] ?? fill[0]}, ${fill[2] ?? fill[0]})`;
    ctx.fillRect(0, 0, pre.width, pre.height);
    ctx.drawImage(source, (pre.width - w) / 2, (pre.height - h) / 2, w, h);
  } else {
    ctx.drawImage(source, 0, 0, pre.width, pre.height);
  }
  const pixels = ctx.getImageData(0, 0, pre.width, pre.height).data;
  const data = rgbaToTensor(pixels, pre.width, pre.height, pre);
  const dims = pre.layout === 'NCHW' ? [1, pre.colorOrder === 'GRAY' ? 1 : 3, pre.height, pre.width] : [1, pre.height, pre.width, pre.colorOrder === 'GRAY' ? 1 : 3];
  const started = performance.now();
  const out = await session.run({ [input.name]: new ort.Tensor(pre.dtype, data, dims) });
  const latencyMs = performance.now() - started;
  const logits = Array.from(out[bundle.manifest.model.outputs[0].name].data, Number);
  const probabilities = softmax(logits);
  const labels = bundle.manifest.labels;
  const top = probabilities
    .map((p, i) => ({ index: i, label: labels[i] ?? String(i), probability: p }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, 3);
  state.last = { top, probabilities, logits, latencyMs };
  $('top').innerHTML = top.map((t) => `<tr><td>${t.label}</td><td>${(100 * t.probability).toFixed(1)}%</td></tr>`).join('');
  return state.last;
}

async function classifyUrl(url) {
  const img = new Image();
  img.src = url;
  await img.decode();
  return classifyDrawable(img, img.naturalWidth, img.naturalHeight);
}
state.classifyUrl = classifyUrl;

$('file').addEventListener('change', async (e) => {
  const file = e.target.files?.[0];
  if (file) await classifyUrl(URL.createObjectURL(file));
});

$('camera').addEventListener('click', async () => {
  const video = $('video');
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  } catch (err) {
    $('fps').textContent = `camera unavailable: ${err.message}`;
    return;
  }
  video.hidden = false;
  await video.play();
  let since = performance.now();
  let count = 0;
  const loop = async () => {
    if (video.readyState >= 2) {
      await classifyDrawable(video, video.videoWidth, video.videoHeight);
      state.frames++;
      count++;
      const now = performance.now();
      if (now - since > 1000) {
        $('fps').textContent = `${((1000 * count) / (now - since)).toFixed(1)} frames/s`;
        since = now;
        count = 0;
      }
    }
    requestAnimationFrame(() => void loop());
  };
  void loop();
});

try {
  const [bundleBytes, keyPem] = await Promise.all([fetchBytes(bundleUrl), fetch(keyUrl).then((r) => r.text())]);
  bundle = await openBundleBytes(bundleBytes, [keyPem]);
  const m = bundle.manifest;
  input = m.model.inputs[0];
  pre = input.preprocessing;
  if (!pre) throw new Error('this page needs a bundle whose first input is an image (manifest preprocessing)');
  session = await ort.InferenceSession.create(bundle.member(m.model.path), { executionProviders: ['wasm'] });
  $('bundle-status').innerHTML = `<span class="ok">Verified</span> <code>${m.name}</code> v${m.version}, signed by key <code>${bundle.keyId}</code>; ${m.task}, ${m.labels.length} labels, input ${pre.width}x${pre.height} ${pre.colorOrder}.`;
  state.golden = await goldenCheck(bundle, session);
  $('golden-status').innerHTML = state.golden.ok
    ? `<span class="ok">Golden check passed</span>: ${state.golden.pairs} pairs, max |diff| ${state.golden.maxAbs.toExponential(2)}.`
    : `<span class="bad">Golden check failed</span>: ${state.golden.reason}`;
  state.manifest = m;
  if (!state.golden.ok) throw new Error(`golden check failed: ${state.golden.reason}`);
  state.ready = true;
} catch (err) {
  state.error = err.message;
  $('bundle-status').textContent = `Refused: ${err.message}`;
  $('bundle-status').className = 'bad';
}
