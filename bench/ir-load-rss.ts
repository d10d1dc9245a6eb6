// Peak RSS of loadModel on a ~100 MB model vs. just reading the file into a Buffer.
// Each measurement runs in a fresh child process; loadModel should add far less than the
// initializer bytes over the baseline, because initializers stay views into the file buffer.
// Run: node bench/dist/ir-load-rss.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder, loadModel, saveModel } from '@edgeloop/compiler';

const MB = 1024 * 1024;
const TENSORS = 4;
const ELEMENTS = (25 * MB) / 4;

async function child(mode: string, path: string): Promise<void> {
  let held: unknown;
  if (mode === 'baseline') held = readFileSync(path);
  else {
    const model = await loadModel(path);
    held = model;
    // Touch every initializer so nothing is lazily deferred.
    let sum = 0;
    for (const t of model.graph.initializers) sum += t.data[t.data.byteLength - 1];
    if (Number.isNaN(sum)) throw new Error('unreachable');
  }
  const vmHwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const peak = vmHwm ? Number(vmHwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ peak, held: held !== undefined }));
}

function measure(mode: string, path: string): number {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, path], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`child ${mode} failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { peak: number }).peak;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-ir-rss-'));
  try {
    const b = new GraphBuilder('big');
    let y = b.input('x', 'float32', [1, ELEMENTS]);
    for (let i = 0; i < TENSORS; i++) {
      const data = new Float32Array(ELEMENTS);
      for (let j = 0; j < ELEMENTS; j += 1024) data[j] = i + j;
      y = b.node('Add', [y, b.initializer(`w${i}`, data, [1, ELEMENTS])]);
    }
    b.output(y);
    const path = join(dir, 'big.onnx');
    await saveModel(b.build({ opset: 17 }), path);
    const fileSize = statSync(path).size;
    const baseline = measure('baseline', path);
    const loaded = measure('load', path);
    const extra = loaded - baseline;
    console.log(`ir-load-rss: model file ${(fileSize / MB).toFixed(1)} MB (${TENSORS} float32 initializers of ${(ELEMENTS * 4) / MB} MB)`);
    console.log(`ir-load-rss: baseline peak RSS (import + readFile into a Buffer): ${(baseline / MB).toFixed(1)} MB`);
    console.log(`ir-load-rss: loadModel peak RSS: ${(loaded / MB).toFixed(1)} MB`);
    console.log(`ir-load-rss: loadModel adds ${(extra / MB).toFixed(1)} MB over baseline = ${((100 * extra) / fileSize).toFixed(1)}% of the file size; ratio loadModel/baseline = ${(loaded / baseline).toFixed(3)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1], args[2]);
else await main();
