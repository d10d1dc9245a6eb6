// The demo's final report as text: every number comes from the run's DemoReport.
import type { DemoReport } from './run-demo.js';

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export function renderDemoReport(r: DemoReport): string {
  const out: string[] = [];
  out.push(`edgeloop demo${r.quick ? ' --quick' : ''}: ${r.seconds.toFixed(0)} s${r.teacher.fromCache ? ' (teacher from cache)' : ''}`, '');
  out.push(`accuracy on ${r.fieldAccuracy.frames} held-out field frames (and ${r.cleanAccuracy.digits} clean digits):`);
  out.push(...table(
    ['model', 'field', ...r.fieldAccuracy.perCamera.map((c) => `${c.camera} (${c.shifts.join('+')})`), 'clean'],
    [
      ['student v1 (int8)', pct(r.fieldAccuracy.v1), ...r.fieldAccuracy.perCamera.map((c) => pct(c.v1)), pct(r.cleanAccuracy.v1)],
      ['student v2 (int8)', pct(r.fieldAccuracy.v2), ...r.fieldAccuracy.perCamera.map((c) => pct(c.v2)), pct(r.cleanAccuracy.v2)],
      ['teacher (fp32)', pct(r.fieldAccuracy.teacher), ...r.fieldAccuracy.perCamera.map((c) => pct(c.teacher)), pct(r.cleanAccuracy.teacher)],
    ],
  ));
  out.push('', 'bundles:');
  out.push(...table(
    ['version', 'bundle', 'fp32 model', 'compiled', 'chosen', 'p50 fp32', 'p50 compiled'],
    r.bundles.map((b) => [`v${b.version}`, kib(b.bytes), kib(b.fp32Bytes), kib(b.compiledBytes), b.chosen, `${b.fp32LatencyMsP50.toFixed(3)} ms`, `${b.int8LatencyMsP50.toFixed(3)} ms`]),
  ));
  out.push('', 'devices:');
  out.push(...table(
    ['device', 'version', 'p50 latency', 'fps', 'bundle bytes received', 'captured', 'stored', 'still spooled', 'lost'],
    r.devices.map((d) => {
      const a = r.samples.perDevice.find((p) => p.device === d.id);
      return [
        d.id, d.version === null ? '-' : `v${d.version}`, d.latencyMsP50 === null ? '-' : `${d.latencyMsP50.toFixed(2)} ms`, d.fps === null ? '-' : d.fps.toFixed(1),
        String(r.bytes.perDevice[d.id] ?? 0), String(a?.captured ?? 0), String(a?.stored ?? 0), String(a?.stillSpooled ?? 0), String(a?.lost ?? 0),
      ];
    }),
  ));
  out.push('');
  out.push(`bytes moved: ${r.bytes.bundlesDownloaded} bundle bytes down (${kib(r.bytes.bundlesDownloaded)}), ${r.bytes.samplesUploaded} sample bytes up (${kib(r.bytes.samplesUploaded)})`);
  out.push(`samples: ${r.samples.captured} captured, ${r.samples.stored} stored, ${r.samples.stillSpooled} still spooled, ${r.samples.lost} lost; ${r.samples.exported} exported and labeled by the teacher (${r.samples.labeledFromCache} from cache)`);
  out.push(`v2 training: ${r.training.cleanDigits} clean digits + ${r.training.fieldSamples} field samples x ${r.training.fieldRepeats}`);
  out.push(`rollouts: ${r.deploys.map((d) => `v${d.version} ${d.canary === null ? 'to all' : `canary ${d.canary}`} (waves ${d.waves.join('+')}, ${d.seconds.toFixed(1)} s)`).join('; ')}`);
  out.push(`all agents on v2: ${r.allOnV2 ? 'yes' : 'NO'}`);
  return out.join('\n');
}
