// Learning-rate schedules as pure functions of progress (fractional epochs), so a resumed run
// continues on exactly the same curve.

export type ScheduleSpec =
  | { kind: 'constant' }
  /** Cosine decay from the base LR to minLr over the run, after an optional linear warmup. */
  | { kind: 'cosine'; warmupEpochs?: number; minLr?: number }
  /** Multiplies the LR by gamma every `everyEpochs` epochs (or at each listed milestone). */
  | { kind: 'step'; everyEpochs?: number; milestones?: number[]; gamma?: number };

/** LR at `epoch` (fractional: 2.5 is halfway through the third epoch) of a run of `epochs`. */
export function learningRateAt(spec: ScheduleSpec, baseLr: number, epoch: number, epochs: number): number {
  switch (spec.kind) {
    case 'constant':
      return baseLr;
    case 'cosine': {
      const warmup = spec.warmupEpochs ?? 0;
      const minLr = spec.minLr ?? 0;
      if (epoch < warmup) return (baseLr * (epoch + 1e-9)) / warmup;
      const span = Math.max(epochs - warmup, 1e-9);
      const t = Math.min(Math.max((epoch - warmup) / span, 0), 1);
      return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * t));
    }
    case 'step': {
      const gamma = spec.gamma ?? 0.1;
      const whole = Math.floor(epoch + 1e-9);
      const drops = spec.milestones
        ? spec.milestones.filter((m) => whole >= m).length
        : Math.floor(whole / Math.max(spec.everyEpochs ?? 1, 1));
      return baseLr * gamma ** drops;
    }
  }
}
