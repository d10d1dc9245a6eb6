// Training throughput of the digits student (conv [4, 8] + BN + ReLU + MaxPool, linear head) on
// real digits, batch 64, with edgeloop's gradient graphs on onnxruntime; and, in the same run,
// PyTorch on the same architecture, batch size and thread count when Debian's python3-torch is
// present (this benchmark installs nothing; it says when PyTorch is absent).
// Run: node bench/dist/train-throughput.js [--threads 1] [--samples 4096] [--epochs 2]
import { spawnSync } from 'node:child_process';
import { convStudent, loadDigits, subset, train } from '@edgeloop/distill';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const THREADS = arg('threads', 1);
const SAMPLES = arg('samples', 4096);
const EPOCHS = arg('epochs', 2);
const BATCH = 64;
const CHANNELS = [4, 8];

const PYTORCH = `
import sys, time, torch, torch.nn as nn
threads, samples, epochs, batch = (int(v) for v in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
c1, c2 = ${CHANNELS[0]}, ${CHANNELS[1]}
model = nn.Sequential(
    nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1, eps=1e-5, momentum=0.1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2, eps=1e-5, momentum=0.1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(c2 * 7 * 7, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
x = torch.rand(samples, 1, 28, 28)
y = torch.randint(0, 10, (samples,))
loss_fn = nn.CrossEntropyLoss()
steps = samples // batch
def epoch():
    for i in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x[i*batch:(i+1)*batch]), y[i*batch:(i+1)*batch])
        loss.backward()
        opt.step()
epoch()  # warm-up
start = time.perf_counter()
for _ in range(epochs):
    epoch()
elapsed = time.perf_counter() - start
print(steps * batch * epochs / elapsed)
print(torch.__version__)
`;

async function main(): Promise<void> {
  const digits = loadDigits();
  const data = subset(digits, Array.from({ length: Math.min(SAMPLES, digits.count) }, (_, i) => i));
  const model = convStudent({ inputShape: [1, 28, 28], channels: CHANNELS, classes: 10, seed: 1 });
  // One warm-up epoch is part of a first call (graph build, session creation); measure a second run.
  await train(model, { train: data, epochs: 1, batchSize: BATCH, learningRate: 0.05, seed: 1, threads: THREADS, reporter: 'silent' });
  const result = await train(model, {
    train: data, epochs: EPOCHS, batchSize: BATCH, learningRate: 0.05, seed: 1, threads: THREADS, reporter: 'silent',
    optimizer: { kind: 'sgd', momentum: 0.9 },
  });
  const ours = result.samplesPerSecond;
  console.log(`train-throughput: digits student conv [${CHANNELS.join(', ')}], batch ${BATCH}, ${THREADS} thread(s), ${data.count} samples x ${EPOCHS} epochs`);
  console.log(`train-throughput: edgeloop (onnxruntime gradient graphs): ${ours.toFixed(0)} samples/s`);

  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log('train-throughput: PyTorch baseline: absent (Debian python3-torch is not installed; this benchmark installs nothing)');
    return;
  }
  const run = spawnSync('/usr/bin/python3', ['-c', PYTORCH, String(THREADS), String(data.count), String(EPOCHS), String(BATCH)], { encoding: 'utf8' });
  if (run.status !== 0) {
    console.log(`train-throughput: PyTorch baseline failed: ${run.stderr.trim().split('\n').pop() ?? ''}`);
    return;
  }
  const [rate, version] = run.stdout.trim().split('\n');
  const theirs = Number(rate);
  console.log(`train-throughput: PyTorch ${version} (same architecture, batch, threads): ${theirs.toFixed(0)} samples/s`);
  console.log(`train-throughput: ratio edgeloop / PyTorch = ${(ours / theirs).toFixed(2)} (goal >= 0.5)`);
}

await main();
