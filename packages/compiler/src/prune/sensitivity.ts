// Per-layer pruning sensitivity: prune one channel group at a time and measure how far the model
// moves on calibration data (top-1 agreement with the unpruned model and relative output error),
// run on onnxruntime. Use it to pick per-layer ratios for pruneChannels({ layers }).
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../ir/serde.js';
import type { Model } from '../ir/types.js';
import { pruneChannels } from '../passes/prune-channels.js';
import type { ChannelPruneOptions } from '../passes/prune-channels.js';
import type { CalibrationFeed } from '../quantize/calibrate.js';

export interface SensitivityOptions extends Pick<ChannelPruneOptions, 'criterion' | 'roundTo'> {
  /** Ratio each group is pruned at, alone (default 0.5). */
  ratio?: number;
  /** Output compared (default the first graph output); top-1 is taken over its last axis. */
  output?: string;
  intraOpNumThreads?: number;
}

export interface LayerSensitivity {
  convs: string[];
  channels: number;
  kept: number;
  /** Share of samples whose top-1 matches the unpruned model's. */
  agreement: number;
  /** Mean over samples of ||y - y_ref|| / ||y_ref||. */
  relativeError: number;
}

async function outputsOf(model: Model, samples: readonly CalibrationFeed[], output: string, threads?: number): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(encodeModel(model), {
    graphOptimizationLevel: 'all', ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
  });
  try {
    const out: Float32Array[] = [];
    for (const s of samples) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(s)) feeds[name] = new ort.Tensor('float32', t.data, [...t.dims]);
      out.push(Float32Array.from((await session.run(feeds))[output].data as Float32Array));
    }
    return out;
  } finally {
    await session.release();
  }
}

function topOne(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Sensitivity of every prunable channel group, most robust first. */
export async function analyzePruningSensitivity(model: Model, samples: readonly CalibrationFeed[], options: SensitivityOptions = {}): Promise<LayerSensitivity[]> {
  const ratio = options.ratio ?? 0.5;
  const output = options.output ?? model.graph.outputs[0].name;
  const reference = await outputsOf(model, samples, output, options.intraOpNumThreads);
  const plan = pruneChannels(model, { ratio, criterion: options.criterion, roundTo: options.roundTo }).report.groups;
  const results: LayerSensitivity[] = [];
  for (const group of plan) {
    const first = group.convs[0];
    const { model: pruned, report } = pruneChannels(model, { ratio: 0, layers: { [first]: ratio }, criterion: options.criterion, roundTo: options.roundTo });
    const outs = await outputsOf(pruned, samples, output, options.intraOpNumThreads);
    let agree = 0;
    let err = 0;
    outs.forEach((o, i) => {
      const r = reference[i];
      if (topOne(o) === topOne(r)) agree++;
      let num = 0;
      let den = 0;
      for (let k = 0; k < r.length; k++) {
        num += (o[k] - r[k]) ** 2;
        den += r[k] ** 2;
      }
      err += Math.sqrt(num / (den || 1));
    });
    const g = report.groups[0] ?? group;
    results.push({ convs: g.convs, channels: g.channels, kept: g.kept, agreement: agree / outs.length, relativeError: err / outs.length });
  }
  return results.sort((a, b) => b.agreement - a.agreement || a.relativeError - b.relativeError);
}
