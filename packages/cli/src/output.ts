import { isEdgeloopError } from '@edgeloop/bundle';
import { isCompilerError } from '@edgeloop/compiler';
import { isRuntimeError } from '@edgeloop/runtime';
import { isOtaError } from '@edgeloop/ota';
import { isDistillError } from '@edgeloop/distill';

// How the CLI talks to people and to programs: human text by default, one JSON document with
// --json, and exactly one line on stderr for an error a user can fix.

export interface OutputOptions {
  json: boolean;
}

/** Prints a command's result: `human` renders it for a terminal, --json prints the object as is. */
export function emit<T>(opts: OutputOptions, result: T, human: (r: T) => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(result, jsonReplacer, 2)}\n`);
  else process.stdout.write(`${human(result)}\n`);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/** A user error raised by the CLI's own argument checks. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface CodedError extends Error {
  code: string;
}

function isCodedError(err: unknown): err is CodedError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

const SYSTEM_CODES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EEXIST: 'already exists',
};

/**
 * One line for the user. Errors of ours (named, with a `code`) and common system errors are
 * expected outcomes of bad input; anything else is a bug and says how to get the stack.
 */
export function formatError(err: unknown): { line: string; exitCode: number; expected: boolean } {
  if (err instanceof UsageError) return { line: `edgeloop: ${err.message}`, exitCode: 2, expected: true };
  if (isCodedError(err)) {
    const sys = SYSTEM_CODES[err.code];
    const path = (err as { path?: string }).path;
    if (sys) return { line: `edgeloop: ${path ? `${path}: ` : ''}${sys}`, exitCode: 1, expected: true };
    return { line: `edgeloop: ${firstLine(err.message)}`, exitCode: 1, expected: true };
  }
  if (isCompilerError(err) || isEdgeloopError(err) || isRuntimeError(err) || isOtaError(err) || isDistillError(err)) {
    return { line: `edgeloop: ${firstLine((err as Error).message)}`, exitCode: 1, expected: true };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    line: `edgeloop: internal error: ${firstLine(message)} (set EDGELOOP_DEBUG=1 for the stack)`,
    exitCode: 70,
    expected: false,
  };
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0] ?? '';
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

export function reportError(err: unknown, opts: { json: boolean }): number {
  const { line, exitCode, expected } = formatError(err);
  if (opts.json) {
    const code = isCodedError(err) ? err.code : 'INTERNAL';
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message: line.replace(/^edgeloop: /, '') } })}\n`);
  }
  process.stderr.write(`${line}\n`);
  // Stacks are for bugs in edgeloop, and only on request: a user error is one line.
  if (process.env.EDGELOOP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  void expected;
  return exitCode;
}

/** Formats a table of rows for terminals: columns padded to the widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
