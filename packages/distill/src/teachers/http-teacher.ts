// A teacher behind HTTP (docs/teachers.md): one POST per image, the answer `{probabilities}` or
// `{logits}` as JSON. Transient failures (connection refused or reset, timeouts, 429, 5xx) are
// retried with the runtime's shared backoff (exponential + jitter, bounded attempts, Retry-After
// honoured); requests are limited in flight and spaced to a rate.
import { createHash } from 'node:crypto';
import { retryWithBackoff } from '@edgeloop/runtime';
import { TeacherError, TeacherRequestError } from '../errors.js';
import { RateLimiter, Semaphore } from './limits.js';
import type { PredictOptions, Teacher, TeacherPrediction, TeacherSample } from './teacher.js';
import { softmaxRows } from './teacher.js';

export interface HttpTeacherOptions {
  /** Endpoint, e.g. http://127.0.0.1:8090/predict. */
  url: string;
  /** 'image': the raw JPEG/PNG bytes as the body; 'json': `{"image": "<base64>", "sha256": "…"}` (default 'image'). */
  format?: 'image' | 'json';
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Tries per sample, the first included (default 5). */
  attempts?: number;
  /** Backoff between tries: first delay and cap (default 200 ms, 10 s). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Requests started per second (default unlimited). */
  requestsPerSecond?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Extra request headers (e.g. authorization); not part of the id, so rotating a token keeps the cache. */
  headers?: Record<string, string>;
  numClasses?: number;
  labels?: string[];
  /** Bump when the model behind the URL changes: it is part of the id, so old cached labels are not reused. */
  version?: string;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

function contentTypeOf(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[8] === 0x57 && bytes[9] === 0x45) return 'image/webp';
  return 'application/octet-stream';
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** fetch refuses some ports outright (the Fetch standard's "bad ports", e.g. 1, 6000): retrying cannot help. */
function isBadPort(error: unknown): boolean {
  return (error as { cause?: { message?: string } }).cause?.message === 'bad port';
}

interface Row {
  kind: 'logits' | 'probabilities';
  values: number[];
}

export class HttpTeacher implements Teacher {
  readonly id: string;
  readonly description: string;
  readonly numClasses?: number;
  readonly labels?: readonly string[];
  readonly accepts = 'image' as const;
  readonly #options: Required<Pick<HttpTeacherOptions, 'format' | 'timeoutMs' | 'attempts'>> & HttpTeacherOptions;
  readonly #inFlight: Semaphore;
  readonly #rate?: RateLimiter;
  #requests = 0;

  constructor(options: HttpTeacherOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TeacherError(`teacher URL ${JSON.stringify(options.url)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TeacherError(`teacher URL ${options.url} is not http(s)`);
    this.#options = { format: 'image', timeoutMs: 30_000, attempts: 5, ...options };
    if (!(this.#options.attempts >= 1)) throw new TeacherError(`attempts ${this.#options.attempts} must be at least 1`);
    this.#inFlight = new Semaphore(options.concurrency ?? 4);
    this.#rate = options.requestsPerSecond ? new RateLimiter(options.requestsPerSecond) : undefined;
    this.description = options.url;
    this.numClasses = options.numClasses ?? options.labels?.length;
    this.labels = options.labels;
    const config = { url: url.href, format: this.#options.format, version: options.version ?? null };
    this.id = createHash('sha256').update(JSON.stringify(config)).digest('hex');
  }

  /** HTTP requests sent so far (every attempt counts). */
  get requestCount(): number {
    return this.#requests;
  }

  async predict(batch: readonly TeacherSample[], options: PredictOptions = {}): Promise<TeacherPrediction> {
    const settled = await Promise.allSettled(batch.map((sample) => this.#inFlight.use(() => this.#predictOne(sample, options.signal))));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const rows = settled.map((s) => (s as PromiseFulfilledResult<Row>).value);
    const classes = rows[0]?.values.length ?? this.numClasses ?? 0;
    for (const row of rows) {
      if (row.values.length !== classes) {
        throw new TeacherRequestError(this.#options.url, `responses disagree on the number of classes (${classes} and ${row.values.length})`, { retryable: false });
      }
    }
    const mixed = rows.some((r) => r.kind !== rows[0]?.kind);
    const kind = mixed ? 'probabilities' : (rows[0]?.kind ?? 'probabilities');
    const values = new Float32Array(rows.length * classes);
    rows.forEach((row, i) => {
      const v = Float32Array.from(row.values);
      values.set(mixed && row.kind === 'logits' ? softmaxRows(v, classes) : v, i * classes);
    });
    return { kind, classes, values };
  }

  async #predictOne(sample: TeacherSample, signal?: AbortSignal): Promise<Row> {
    const { url, attempts } = this.#options;
    if (!sample.image) throw new TeacherError(`teacher ${url} takes images; sample ${sample.sha256 ?? ''} has only a tensor`);
    const image = sample.image;
    let tries = 0;
    try {
      return await retryWithBackoff(
        async () => {
          tries++;
          return this.#request(image, sample.sha256, signal);
        },
        {
          attempts,
          baseMs: this.#options.backoff?.baseMs ?? 200,
          maxMs: this.#options.backoff?.maxMs ?? 10_000,
          signal,
          isRetryable: (error) => error instanceof TeacherRequestError && error.retryable,
        },
      );
    } catch (error) {
      if (error instanceof TeacherRequestError && tries > 1) {
        const final = new TeacherRequestError(url, `${error.message.slice(`teacher ${url}: `.length)} (gave up after ${tries} attempts)`, {
          status: error.status, retryable: false, cause: error,
        });
        final.attempts = tries;
        throw final;
      }
      throw error;
    }
  }

  async #request(image: Uint8Array, sha256: string | undefined, signal?: AbortSignal): Promise<Row> {
    const { url, format, timeoutMs } = this.#options;
    await this.#rate?.take();
    this.#requests++;
    const timeout = AbortSignal.timeout(timeoutMs);
    const body = format === 'json' ? JSON.stringify({ image: Buffer.from(image).toString('base64'), sha256 }) : image;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': format === 'json' ? 'application/json' : contentTypeOf(image), accept: 'application/json', ...this.#options.headers },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw error;
      if (timeout.aborted) throw new TeacherRequestError(url, `no answer within ${timeoutMs} ms`, { retryable: true, cause: error });
      throw new TeacherRequestError(url, `request failed: ${networkReason(error)}`, { retryable: !isBadPort(error), cause: error });
    }
    if (!response.ok) {
      const detail = text.trim().split('\n', 1)[0]?.slice(0, 200);
      throw new TeacherRequestError(url, `HTTP ${response.status} ${response.statusText}${detail ? `: ${detail}` : ''}`, {
        status: response.status,
        retryable: RETRYABLE_STATUS.has(response.status),
        retryAfter: retryAfterMs(response.headers.get('retry-after')),
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TeacherRequestError(url, `HTTP ${response.status}: the body is not JSON`, { status: response.status, retryable: false });
    }
    const answer = json as { probabilities?: unknown; logits?: unknown };
    const kind = Array.isArray(answer.probabilities) ? 'probabilities' : Array.isArray(answer.logits) ? 'logits' : undefined;
    const values = kind === 'probabilities' ? answer.probabilities : answer.logits;
    if (!kind || !Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new TeacherRequestError(url, 'the answer has no "probabilities" or "logits" array of finite numbers', { status: response.status, retryable: false });
    }
    return { kind, values: values as number[] };
  }

  async close(): Promise<void> {
    // Nothing held: fetch pools connections globally.
  }
}
