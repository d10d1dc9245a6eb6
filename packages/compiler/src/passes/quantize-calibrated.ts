// Calibrate, then quantize statically: the async pass a compile pipeline uses, so calibration
// samples (tensors or images through imageCalibrationSamples) can be pipeline options.
// Observes only the tensors the quantizer needs. Does not mutate its input.
import type { Model } from '../ir/types.js';
import { calibrateModel } from '../quantize/calibrate.js';
import type { CalibrateOptions, CalibrationData, CalibrationFeed } from '../quantize/calibrate.js';
import { quantizeStatic, staticQuantizationTargets } from './quantize-static.js';
import type { StaticQuantizeOptions, StaticQuantizeResult } from './quantize-static.js';

export interface CalibratedQuantizeOptions extends Omit<StaticQuantizeOptions, 'calibration'> {
  samples: Iterable<CalibrationFeed> | AsyncIterable<CalibrationFeed>;
  calibrate?: Omit<CalibrateOptions, 'tensors'>;
}

export interface CalibratedQuantizeResult extends StaticQuantizeResult {
  /** The calibration data (also the source of the manifest's calibration statistics). */
  calibration: CalibrationData;
}

export async function quantizeStaticCalibrated(model: Model, options: CalibratedQuantizeOptions): Promise<CalibratedQuantizeResult> {
  const { samples, calibrate, ...quantize } = options;
  const histograms = calibrate?.histograms ?? (quantize.method ?? 'minmax') !== 'minmax';
  const calibration = await calibrateModel(model, samples, { ...calibrate, histograms, tensors: staticQuantizationTargets(model, quantize) });
  return { ...quantizeStatic(model, { ...quantize, calibration }), calibration };
}
