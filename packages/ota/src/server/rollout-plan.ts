// The rollout planner (docs/ota-protocol.md §rollout; STYLE item 6: plan apart from doing): pure
// functions from the targeted devices, the options and what each device reported so far, to the
// next action. No I/O and no clock: the caller passes `now`. rollout.ts executes the decisions.

/** A percentage ('10%') or an absolute count ('3'). */
export type Amount = string | number;

export interface WavePlanOptions {
  /** Size of the first wave (default '10%', at least one device). */
  canary?: Amount;
  /** Each later wave is this many times the previous one (default 2). */
  growth?: number;
}

export type DeviceOutcome =
  | { state: 'pending' }
  | { state: 'assigned'; at: number }
  | { state: 'succeeded'; at: number }
  | { state: 'failed'; at: number; reason: string };

export interface RolloutProgress {
  waves: string[][];
  /** Index of the wave in flight (−1 before the first). */
  wave: number;
  outcomes: Record<string, DeviceOutcome>;
}

export interface DecisionOptions {
  /** Failures tolerated over the whole rollout (e.g. '20%' of the targeted devices). */
  maxFailures: Amount;
  /** A device assigned this long ago that has neither succeeded nor failed counts as failed. */
  waveTimeoutMs: number;
}

export type RolloutDecision =
  | { action: 'start-wave'; wave: number; devices: string[] }
  | { action: 'wait'; pending: string[] }
  | { action: 'time-out'; devices: string[] }
  | { action: 'halt'; failed: number; allowed: number; unreached: string[] }
  | { action: 'done'; succeeded: number; failed: number };

/** Parses '20%' (of `total`) or '3' into a device count; percentages round down, except that `atLeastOne` rounds a non-zero share up to 1. */
export function resolveAmount(amount: Amount, total: number, atLeastOne = false): number {
  const text = String(amount).trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  let count: number;
  if (percent !== null) {
    const share = Number(percent[1]);
    if (share > 100) throw new RangeError(`${text}: a percentage above 100%`);
    count = Math.floor((share * total) / 100 + 1e-9);
    if (atLeastOne && share > 0 && count === 0) count = 1;
  } else if (/^\d+$/.test(text)) {
    count = Math.min(total, Number(text));
  } else {
    throw new RangeError(`${JSON.stringify(amount)} is neither a percentage ('10%') nor a device count`);
  }
  return count;
}

/** Splits devices (in the given order) into waves: the canary first, then waves growing by `growth`. */
export function planWaves(devices: readonly string[], options: WavePlanOptions = {}): string[][] {
  if (devices.length === 0) return [];
  const growth = options.growth ?? 2;
  if (!(growth >= 1)) throw new RangeError(`growth ${growth} must be at least 1`);
  let size = Math.max(1, resolveAmount(options.canary ?? '10%', devices.length, true));
  const waves: string[][] = [];
  for (let at = 0; at < devices.length; ) {
    waves.push(devices.slice(at, at + size));
    at += size;
    size = Math.max(size + 1, Math.ceil(size * growth));
  }
  return waves;
}

/**
 * What to do next. Failures are counted over every device reached so far (a device that timed out
 * is failed); the rollout halts as soon as they exceed `maxFailures`, and devices of later waves
 * are never reached. A wave starts only when the previous one has no device left in flight.
 */
export function decideRollout(progress: RolloutProgress, options: DecisionOptions, now: number): RolloutDecision {
  const all = progress.waves.flat();
  const allowed = resolveAmount(options.maxFailures, all.length);
  const outcome = (id: string): DeviceOutcome => progress.outcomes[id] ?? { state: 'pending' };
  const timedOut = all.filter((id) => {
    const o = outcome(id);
    return o.state === 'assigned' && now - o.at >= options.waveTimeoutMs;
  });
  if (timedOut.length > 0) return { action: 'time-out', devices: timedOut };
  const failed = all.filter((id) => outcome(id).state === 'failed').length;
  if (failed > allowed) {
    return { action: 'halt', failed, allowed, unreached: all.filter((id) => outcome(id).state === 'pending') };
  }
  const inFlight = all.filter((id) => outcome(id).state === 'assigned');
  if (inFlight.length > 0) return { action: 'wait', pending: inFlight };
  const next = progress.wave + 1;
  if (next < progress.waves.length) return { action: 'start-wave', wave: next, devices: progress.waves[next] };
  return { action: 'done', succeeded: all.filter((id) => outcome(id).state === 'succeeded').length, failed };
}

/** The next wait before deciding again when nothing reports: the earliest wave timeout (ms from now). */
export function nextTimeoutIn(progress: RolloutProgress, options: DecisionOptions, now: number): number | null {
  let earliest: number | null = null;
  for (const o of Object.values(progress.outcomes)) {
    if (o.state !== 'assigned') continue;
    const left = Math.max(0, o.at + options.waveTimeoutMs - now);
    earliest = earliest === null ? left : Math.min(earliest, left);
  }
  return earliest;
}
