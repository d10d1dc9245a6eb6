// Shared TypeBox validation: compile once, report violations as JSON pointers.
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';

import type { SchemaViolation } from './errors.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compile<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check as TypeCheck<T>;
}

const MAX_COLLECTED = 20;

/** Returns the schema violations of `value` (empty when valid), at most a handful. */
export function schemaViolations<T extends TSchema>(schema: T, value: unknown): SchemaViolation[] {
  const check = compile(schema);
  if (check.Check(value)) return [];
  const out: SchemaViolation[] = [];
  const seen = new Set<string>();
  for (const error of check.Errors(value)) {
    // Union members each report a failure for the same path; the first is enough.
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    out.push({ path: error.path, message: error.message });
    if (out.length >= MAX_COLLECTED) break;
  }
  return out;
}

/** Whether `value` matches `schema` (compiled once per schema). */
export function matchesSchema<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return compile(schema).Check(value);
}
