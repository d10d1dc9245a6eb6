// `edgeloop demo`: the whole loop on MNIST digits, measured. A teacher (cached), student v1
// distilled on clean digits, compiled to a signed int8 bundle and deployed to three device
// processes whose cameras see shifted digits; their uncertain frames come back, the teacher labels
// them, student v2 is distilled on clean + field samples, compiled and rolled out as a canary then
// to all. The report compares v1, v2 and the teacher on held-out field frames the devices never saw.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateKeyPair, saveKeyPair } from '@edgeloop/bundle';
import {
  DIGITS_PREPROCESSING, DIGIT_LABELS, DatasetStore, OnnxTeacher, labelSamples, loadDigits, loadStoreDataset, predictLogits, splitDataset, subset,
  writeDigitImages,
} from '@edgeloop/distill';
import type { Dataset, ProgressReporter } from '@edgeloop/distill';
import { ChildGroup } from './children.js';
import { CAMERA_SHIFTS, writeFieldSet } from './field.js';
import { DemoFleet } from './fleet.js';
import type { SampleAccounting } from './fleet.js';
import { accuracyOn, compileStudent, distillStudent, obtainTeacher } from './models.js';
import type { CompiledStudent, StudentSettings, TeacherSettings } from './models.js';

export const DEVICE_IDS = ['cam-0', 'cam-1', 'cam-2'] as const;
const PROFILE = 'raspberry-pi-4';
const SEED = 1;

export interface DemoOptions {
  workDir: string;
  cacheDir: string;
  quick: boolean;
  log: (line: string) => void;
  reporter: ProgressReporter;
  signal: AbortSignal;
  threads?: number;
  /** Called with the child process group so a caller can report the PIDs (tests). */
  onChildren?: (children: ChildGroup) => void;
}

export interface DemoReport {
  quick: boolean;
  seconds: number;
  teacher: { fromCache: boolean; cacheKey: string; seconds: number };
  fieldAccuracy: { teacher: number; v1: number; v2: number; frames: number; perCamera: { camera: string; shifts: string[]; v1: number; v2: number; teacher: number }[] };
  cleanAccuracy: { teacher: number; v1: number; v2: number; digits: number };
  bundles: { version: number; bytes: number; fp32Bytes: number; compiledBytes: number; chosen: string; fp32LatencyMsP50: number; int8LatencyMsP50: number }[];
  training: { cleanDigits: number; fieldSamples: number; fieldRepeats: number; v1Seconds: number; v2Seconds: number };
  deploys: { version: number; canary: string | null; waves: number[]; seconds: number }[];
  bytes: { bundlesDownloaded: number; perDevice: Record<string, number>; samplesUploaded: number };
  devices: { id: string; version: number | null; latencyMsP50: number | null; fps: number | null }[];
  samples: { captured: number; stored: number; exported: number; labeledFromCache: number; stillSpooled: number; lost: number; perDevice: SampleAccounting[] };
  allOnV2: boolean;
}

interface Sizes {
  teacher: TeacherSettings;
  student: StudentSettings;
  cleanDigits: number;
  calibrationPerClass: number;
  deviceFramesPerCamera: number;
  evalFramesPerCamera: number;
  cleanEvalDigits: number;
  sampleTarget: number;
  sampleWaitMs: number;
  fps: number;
}

function sizes(quick: boolean): Sizes {
  return {
    teacher: { channels: [16, 32], hidden: 64, epochs: quick ? 3 : 4, trainCount: 8000, shiftedFraction: 0.6, rotate: 40, seed: SEED },
    student: { channels: [8, 16], hidden: 0, epochs: quick ? 4 : 6, seed: SEED + 1, temperature: 4, alpha: 0.9 },
    cleanDigits: quick ? 1500 : 3000,
    calibrationPerClass: quick ? 3 : 6,
    deviceFramesPerCamera: quick ? 100 : 150,
    evalFramesPerCamera: quick ? 100 : 150,
    cleanEvalDigits: 500,
    sampleTarget: quick ? 90 : 150,
    sampleWaitMs: quick ? 45_000 : 75_000,
    fps: 10,
  };
}

function concat(parts: { data: Dataset; logits: Float32Array; labels: Int32Array; repeats: number }[]): Dataset {
  const size = parts[0].data.inputs.length / Math.max(1, parts[0].data.count);
  const count = parts.reduce((n, p) => n + p.data.count * p.repeats, 0);
  const inputs = new Float32Array(count * size);
  const teacherLogits = new Float32Array(count * 10);
  const labels = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    for (let r = 0; r < p.repeats; r++) {
      inputs.set(p.data.inputs.subarray(0, p.data.count * size), at * size);
      teacherLogits.set(p.logits.subarray(0, p.data.count * 10), at * 10);
      labels.set(p.labels.subarray(0, p.data.count), at);
      at += p.data.count;
    }
  }
  return { inputs, sampleShape: parts[0].data.sampleShape, count, labels, teacherLogits };
}

function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

function pick(data: Dataset, mask: Int32Array, camera: number): Dataset {
  const idx: number[] = [];
  mask.forEach((c, i) => {
    if (c === camera) idx.push(i);
  });
  return subset(data, idx);
}

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const started = performance.now();
  const { log, reporter, signal, quick } = options;
  const s = sizes(quick);
  const work = resolve(options.workDir);
  const checkpoint = (): void => {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('interrupted');
  };
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const children = new ChildGroup();
  options.onChildren?.(children);
  try {
    // 1. Teacher and student v1 on clean digits.
    log(`[1/5] teacher and student v1 (working folder ${work})`);
    const all = loadDigits();
    const [trainSet, heldOut] = splitDataset(all, s.teacher.trainCount, SEED);
    const teacher = await obtainTeacher(resolve(options.cacheDir), s.teacher, trainSet, reporter, options.threads, log, signal);
    checkpoint();
    const clean = subset(trainSet, Int32Array.from({ length: s.cleanDigits }, (_, i) => i));
    const cleanLogits = await predictLogits(teacher.model, clean);
    log(`student v1: conv ${JSON.stringify(s.student.channels)} distilled (T=${s.student.temperature}, alpha=${s.student.alpha}) on ${clean.count} clean digits, ${s.student.epochs} epochs`);
    const v1 = await distillStudent({ ...clean, teacherLogits: cleanLogits }, s.student, reporter, options.threads, signal);
    checkpoint();

    // 2. Compile v1: int8 QDQ calibrated on clean digit images, signed bundle.
    log('[2/5] compile v1 to a signed int8 bundle');
    const keys = generateKeyPair();
    await mkdir(join(work, 'keys'), { recursive: true });
    await saveKeyPair(join(work, 'keys', 'release'), keys);
    const calibration = join(work, 'calibration');
    await writeDigitImages(calibration, { perClass: s.calibrationPerClass, seed: SEED + 7 });
    const bundlesDir = join(work, 'bundles');
    await mkdir(bundlesDir, { recursive: true });
    const compileOptions = { calibration, target: PROFILE, privateKeyPem: keys.privateKeyPem, quick, ...(options.threads !== undefined ? { threads: options.threads } : {}) };
    const v1c = await compileStudent(v1.model, bundlesDir, 'student-v1', { ...compileOptions, version: 1 });
    log(`v1 bundle: ${v1c.bundleBytes} bytes (${v1c.chosen}); model ${v1c.fp32Bytes} -> ${v1c.compiledBytes} bytes; p50 ${v1c.fp32LatencyMsP50.toFixed(3)} -> ${v1c.compiledLatencyMsP50.toFixed(3)} ms`);
    checkpoint();

    // 3. Field frames: one folder per device, and a held-out labeled set for measuring.
    log('[3/5] field frames (shifted held-out digits)');
    const deviceCount = s.deviceFramesPerCamera * DEVICE_IDS.length;
    const evalCount = s.evalFramesPerCamera * DEVICE_IDS.length;
    const deviceIdx = Int32Array.from({ length: deviceCount }, (_, i) => i);
    const evalIdx = Int32Array.from({ length: evalCount }, (_, i) => deviceCount + i);
    const cleanEval = subset(heldOut, Int32Array.from({ length: s.cleanEvalDigits }, (_, i) => deviceCount + evalCount + i));
    const deviceFrames = await writeFieldSet(join(work, 'field', 'devices'), DEVICE_IDS, heldOut, deviceIdx, s.deviceFramesPerCamera, DIGITS_PREPROCESSING, SEED + 11);
    const evalFrames = await writeFieldSet(join(work, 'field', 'eval'), DEVICE_IDS, heldOut, evalIdx, s.evalFramesPerCamera, DIGITS_PREPROCESSING, SEED + 13);
    // Ground truth stays outside the device folders.
    await writeFile(join(work, 'field', 'eval-labels.json'), `${JSON.stringify(Array.from(evalFrames.dataset.labels!))}\n`);
    for (const [i, id] of DEVICE_IDS.entries()) log(`${id}: ${deviceFrames.files[i].length} frames, ${CAMERA_SHIFTS[i].join(' + ')}`);
    checkpoint();

    // 4. The fleet: serve, three devices, deploy v1, collect, label, distill v2, canary rollout.
    log('[4/5] fleet: edgeloop serve + 3 edgeloop device processes');
    const fleet = new DemoFleet(children, DEVICE_IDS, {
      serverDir: join(work, 'server'), devicesDir: join(work, 'devices'), configsDir: join(work, 'configs'), publicKeyPem: keys.publicKeyPem,
      profile: PROFILE, fps: s.fps, sampleBaseline: 0.1,
    }, signal);
    const url = await fleet.start(deviceFrames.files.map((f, i) => join(work, 'field', 'devices', DEVICE_IDS[i])));
    log(`server on ${url}; devices started`);
    const deploy1 = await fleet.deploy(v1c.bundlePath);
    log(`v1 deployed to ${deploy1.succeeded.join(', ')} in ${deploy1.seconds.toFixed(1)} s`);
    await fleet.waitServing(1, 60_000);
    log(`waiting for up to ${s.sampleTarget} field samples (at most ${s.sampleWaitMs / 1000} s)`);
    const storedCount = await fleet.waitForSamples(s.sampleTarget, s.sampleWaitMs, (n) => log(`samples stored on the server: ${n}`));
    if (storedCount === 0) throw new Error('no field samples arrived');
    const exportDir = join(work, 'field-samples');
    const exported = await fleet.exportSamples(exportDir);
    const store = await DatasetStore.open(join(work, 'store'), { create: true });
    const imported = await store.importField(exportDir);
    log(`exported ${exported.exported} samples; imported ${imported.added} (${imported.duplicates} duplicates) into the dataset store`);
    const loaded = await loadStoreDataset(store, { preprocessing: DIGITS_PREPROCESSING, classNames: DIGIT_LABELS });
    const teacherLabeler = await OnnxTeacher.open(teacher.model, { labels: DIGIT_LABELS, description: 'demo teacher' });
    let labeled;
    try {
      labeled = await labelSamples(teacherLabeler, loaded.samples, { cacheDir: join(resolve(options.cacheDir), 'labels'), expectedClasses: 10, signal });
    } finally {
      await teacherLabeler.close();
    }
    log(`teacher labeled ${labeled.count} field samples (${labeled.fromCache} from the label cache)`);
    const fieldData = loaded.dataset;
    // The field samples weigh about as much as the clean digits in v2's training set.
    const fieldRepeats = Math.max(1, Math.round((0.6 * clean.count) / fieldData.count));
    const v2Data = concat([
      { data: clean, logits: cleanLogits, labels: clean.labels!, repeats: 1 },
      { data: fieldData, logits: labeled.logits, labels: argmaxRows(labeled.logits, 10), repeats: fieldRepeats },
    ]);
    log(`student v2: ${clean.count} clean digits + ${fieldData.count} field samples x ${fieldRepeats}`);
    const v2 = await distillStudent(v2Data, s.student, reporter, options.threads, signal);
    checkpoint();
    const v2c = await compileStudent(v2.model, bundlesDir, 'student-v2', { ...compileOptions, version: 2 });
    log(`v2 bundle: ${v2c.bundleBytes} bytes (${v2c.chosen}); p50 ${v2c.fp32LatencyMsP50.toFixed(3)} -> ${v2c.compiledLatencyMsP50.toFixed(3)} ms`);
    const canary = '34%';
    const deploy2 = await fleet.deploy(v2c.bundlePath, canary);
    log(`v2 rolled out (canary ${canary}, waves ${deploy2.waves.join(' + ')}) in ${deploy2.seconds.toFixed(1)} s`);
    await fleet.waitServing(2, 60_000);
    const versions = await fleet.fleetVersions();
    const devices = DEVICE_IDS.map((id) => {
      const summary = fleet.lastSummary(id, 2);
      return { id, version: versions[id] ?? null, latencyMsP50: summary?.latencyMsP50 ?? null, fps: summary?.fps ?? null };
    });
    const perDeviceBytes = Object.fromEntries(DEVICE_IDS.map((id) => [id, fleet.bytesDownloaded(id)]));
    const accounting = await fleet.stopDevicesAndAccount();
    if (fleet.serve !== undefined) await children.stop(fleet.serve);

    // 5. Measure on the held-out field frames (never on a device) and on clean digits.
    log('[5/5] measuring v1, v2 and the teacher on held-out field frames');
    const perCamera = [];
    for (const [i, id] of DEVICE_IDS.entries()) {
      const part = pick(evalFrames.dataset, evalFrames.cameras, i);
      perCamera.push({
        camera: id, shifts: [...CAMERA_SHIFTS[i]],
        v1: await accuracyOn(v1c.model, part), v2: await accuracyOn(v2c.model, part), teacher: await accuracyOn(teacher.model, part),
      });
    }
    const bundleRow = (version: number, c: CompiledStudent): DemoReport['bundles'][number] => ({
      version, bytes: c.bundleBytes, fp32Bytes: c.fp32Bytes, compiledBytes: c.compiledBytes, chosen: c.chosen, fp32LatencyMsP50: c.fp32LatencyMsP50, int8LatencyMsP50: c.compiledLatencyMsP50,
    });
    const sum = (f: (a: SampleAccounting) => number): number => accounting.reduce((n, a) => n + f(a), 0);
    return {
      quick,
      seconds: (performance.now() - started) / 1000,
      teacher: { fromCache: teacher.fromCache, cacheKey: teacher.cacheKey, seconds: teacher.seconds },
      fieldAccuracy: {
        teacher: await accuracyOn(teacher.model, evalFrames.dataset), v1: await accuracyOn(v1c.model, evalFrames.dataset), v2: await accuracyOn(v2c.model, evalFrames.dataset),
        frames: evalFrames.dataset.count, perCamera,
      },
      cleanAccuracy: { teacher: await accuracyOn(teacher.model, cleanEval), v1: await accuracyOn(v1c.model, cleanEval), v2: await accuracyOn(v2c.model, cleanEval), digits: cleanEval.count },
      bundles: [bundleRow(1, v1c), bundleRow(2, v2c)],
      training: { cleanDigits: clean.count, fieldSamples: fieldData.count, fieldRepeats, v1Seconds: v1.seconds, v2Seconds: v2.seconds },
      deploys: [
        { version: 1, canary: null, waves: deploy1.waves, seconds: deploy1.seconds },
        { version: 2, canary, waves: deploy2.waves, seconds: deploy2.seconds },
      ],
      bytes: { bundlesDownloaded: Object.values(perDeviceBytes).reduce((a, b) => a + b, 0), perDevice: perDeviceBytes, samplesUploaded: exported.bytes },
      devices,
      samples: {
        captured: sum((a) => a.captured), stored: sum((a) => a.stored), exported: exported.exported, labeledFromCache: labeled.fromCache,
        stillSpooled: sum((a) => a.stillSpooled), lost: sum((a) => a.lost), perDevice: accounting,
      },
      allOnV2: devices.every((d) => d.version === 2),
    };
  } finally {
    await children.stopAll();
  }
}
