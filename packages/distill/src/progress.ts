// Progress reporting: a redrawn single-line bar on a TTY, plain lines otherwise (CI, logs).

export interface StepProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  samplesPerSecond: number;
  lr: number;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  samplesPerSecond: number;
  seconds: number;
}

export interface ProgressReporter {
  step?(p: StepProgress): void;
  epoch?(record: EpochRecord): void;
  message?(text: string): void;
}

function fmt(v: number | undefined, digits = 4): string {
  return v === undefined ? '-' : v.toFixed(digits);
}

export function describeEpoch(r: EpochRecord, epochs?: number): string {
  const parts = [epochs ? `epoch ${r.epoch + 1}/${epochs}` : `epoch ${r.epoch + 1}`, `lr ${r.lr.toExponential(2)}`, `loss ${fmt(r.trainLoss)}`];
  if (r.trainAccuracy !== undefined) parts.push(`acc ${fmt(r.trainAccuracy, 3)}`);
  if (r.valLoss !== undefined) parts.push(`val_loss ${fmt(r.valLoss)}`);
  if (r.valAccuracy !== undefined) parts.push(`val_acc ${fmt(r.valAccuracy, 3)}`);
  parts.push(`${r.samplesPerSecond.toFixed(0)} samples/s`, `${r.seconds.toFixed(1)} s`);
  return parts.join('  ');
}

/** Writes to `stream`; redraws a bar when it is a TTY, else prints one line per epoch. */
export function consoleReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  return {
    step(p) {
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100 && p.step + 1 < p.stepsPerEpoch) return;
      lastDraw = now;
      const width = 24;
      const done = Math.round(((p.step + 1) / p.stepsPerEpoch) * width);
      const bar = '#'.repeat(done) + '.'.repeat(width - done);
      stream.write(`\r[${bar}] epoch ${p.epoch + 1}/${p.epochs} step ${p.step + 1}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)} ${p.samplesPerSecond.toFixed(0)} samples/s`);
    },
    epoch(r) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${describeEpoch(r)}\n`);
    },
    message(text) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${text}\n`);
    },
  };
}

export const silentReporter: ProgressReporter = {};
