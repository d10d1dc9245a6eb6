// The bundle manifest: what a device needs to run, check and monitor a model, and where it came
// from. TypeBox gives the JSON Schema and the static types from one definition.
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

import { ManifestSchemaError } from './errors.js';
import type { SchemaViolation } from './errors.js';
import { MANIFEST_MEMBER, SIGNATURE_MEMBER, isSafeMemberPath } from './paths.js';
import { schemaViolations } from './schema-check.js';
import { TENSOR_DTYPES, bytesPerElement } from './tensor.js';

export const MANIFEST_SCHEMA_VERSION = 1;

const strict = { additionalProperties: false } as const;

/** Names of bundles and device profiles: file-name safe, no path separators. */
export const NameSchema = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });
const IsoDateTime = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
});
const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });
const NonNegativeInteger = Type.Integer({ minimum: 0 });

export const TaskSchema = Type.Union([Type.Literal('classification'), Type.Literal('detection'), Type.Literal('raw')]);
export const MemberRoleSchema = Type.Union([
  Type.Literal('model'),
  Type.Literal('golden'),
  Type.Literal('calibration'),
  Type.Literal('extra'),
]);
export const TensorDtypeSchema = Type.Union(TENSOR_DTYPES.map((d) => Type.Literal(d)));
export const PrecisionSchema = Type.Union([
  Type.Literal('fp32'),
  Type.Literal('fp16'),
  Type.Literal('int8'),
  Type.Literal('mixed'),
]);

export const MemberSchema = Type.Object(
  {
    path: Type.String({ minLength: 1 }),
    size: NonNegativeInteger,
    sha256: Sha256Hex,
    role: MemberRoleSchema,
  },
  strict,
);

/** value = (pixel * scale - mean[c]) / std[c]; mean/std have one entry per channel (or one for all). */
export const PreprocessingSchema = Type.Object(
  {
    width: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    resize: Type.Union([Type.Literal('stretch'), Type.Literal('letterbox'), Type.Literal('center-crop')]),
    colorOrder: Type.Union([Type.Literal('RGB'), Type.Literal('BGR'), Type.Literal('GRAY')]),
    layout: Type.Union([Type.Literal('NCHW'), Type.Literal('NHWC')]),
    dtype: Type.Union([Type.Literal('float32'), Type.Literal('uint8')]),
    scale: Type.Number(),
    mean: Type.Array(Type.Number(), { minItems: 1, maxItems: 3 }),
    std: Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 1, maxItems: 3 }),
    letterboxColor: Type.Optional(Type.Array(Type.Number({ minimum: 0, maximum: 255 }), { minItems: 1, maxItems: 3 })),
  },
  strict,
);

/** Hints for decoding outputs; `format` names the head layout for detection, logits vs probabilities for classification. */
export const PostprocessingSchema = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('yolov5'), Type.Literal('yolov8'), Type.Literal('logits'), Type.Literal('probabilities')]),
    ),
    confThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    iouThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  strict,
);

/** Model dims are integers (fixed) or strings (symbolic, e.g. 'batch'). */
export const DimSchema = Type.Union([Type.Integer({ minimum: -1 }), Type.String({ minLength: 1 })]);

export const ModelInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    dtype: TensorDtypeSchema,
    shape: Type.Array(DimSchema),
    preprocessing: Type.Optional(PreprocessingSchema),
  },
  strict,
);

export const ModelOutputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    dtype: TensorDtypeSchema,
    shape: Type.Array(DimSchema),
    postprocessing: Type.Optional(PostprocessingSchema),
  },
  strict,
);

export const ModelSchema = Type.Object(
  {
    path: Type.String({ minLength: 1 }),
    inputs: Type.Array(ModelInputSchema, { minItems: 1 }),
    outputs: Type.Array(ModelOutputSchema, { minItems: 1 }),
    opset: Type.Integer({ minimum: 1 }),
    precision: PrecisionSchema,
  },
  strict,
);

export const ProvenanceSchema = Type.Object(
  {
    parentVersion: Type.Optional(Type.Integer({ minimum: 1 })),
    teacherHash: Type.Optional(Type.String()),
    datasetHash: Type.Optional(Type.String()),
    compiler: Type.Optional(Type.String()),
    trainer: Type.Optional(Type.String()),
    createdBy: Type.Optional(Type.String()),
  },
  strict,
);

export const MetricsSchema = Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()]));

export const HistogramSchema = Type.Object(
  {
    min: Type.Number(),
    max: Type.Number(),
    counts: Type.Array(NonNegativeInteger, { minItems: 1 }),
  },
  strict,
);

/** Per-tensor statistics from calibration; the device compares live statistics against these for drift. */
export const TensorStatsSchema = Type.Object(
  {
    mean: Type.Array(Type.Number()),
    std: Type.Array(Type.Number({ minimum: 0 })),
    min: Type.Number(),
    max: Type.Number(),
    histogram: Type.Optional(HistogramSchema),
  },
  strict,
);

export const CalibrationSchema = Type.Record(Type.String(), TensorStatsSchema);

/** A raw little-endian tensor stored as a bundle member. */
export const TensorRefSchema = Type.Object(
  {
    member: Type.String({ minLength: 1 }),
    dtype: TensorDtypeSchema,
    dims: Type.Array(NonNegativeInteger),
  },
  strict,
);

export const GoldenSampleSchema = Type.Object(
  {
    inputs: Type.Record(Type.String(), TensorRefSchema),
    outputs: Type.Record(Type.String(), TensorRefSchema),
    tolerance: Type.Object({ abs: Type.Number({ minimum: 0 }), rel: Type.Number({ minimum: 0 }) }, strict),
  },
  strict,
);

export const ManifestSchema = Type.Object(
  {
    schemaVersion: Type.Literal(MANIFEST_SCHEMA_VERSION),
    name: NameSchema,
    version: Type.Integer({ minimum: 1 }),
    createdAt: IsoDateTime,
    task: TaskSchema,
    labels: Type.Array(Type.String()),
    targetProfile: NameSchema,
    members: Type.Array(MemberSchema, { minItems: 1 }),
    model: ModelSchema,
    provenance: ProvenanceSchema,
    metrics: MetricsSchema,
    calibration: Type.Optional(CalibrationSchema),
    golden: Type.Array(GoldenSampleSchema),
    latencyBudgetMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { ...strict, $id: 'https://edgeloop.dev/schemas/manifest-v1.json' },
);

export type Task = Static<typeof TaskSchema>;
export type MemberRole = Static<typeof MemberRoleSchema>;
export type Precision = Static<typeof PrecisionSchema>;
export type Member = Static<typeof MemberSchema>;
export type Preprocessing = Static<typeof PreprocessingSchema>;
export type Postprocessing = Static<typeof PostprocessingSchema>;
export type Dim = Static<typeof DimSchema>;
export type ModelInput = Static<typeof ModelInputSchema>;
export type ModelOutput = Static<typeof ModelOutputSchema>;
export type ModelInfo = Static<typeof ModelSchema>;
export type Provenance = Static<typeof ProvenanceSchema>;
export type Metrics = Static<typeof MetricsSchema>;
export type TensorStats = Static<typeof TensorStatsSchema>;
export type Calibration = Static<typeof CalibrationSchema>;
export type TensorRef = Static<typeof TensorRefSchema>;
export type GoldenSample = Static<typeof GoldenSampleSchema>;
export type Manifest = Static<typeof ManifestSchema>;

/** What createBundle takes: the manifest minus what it computes (members, createdAt, schemaVersion). */
export type ManifestInput = Omit<Manifest, 'members' | 'createdAt' | 'schemaVersion'> & {
  schemaVersion?: typeof MANIFEST_SCHEMA_VERSION;
};

/**
 * Validates a parsed manifest: the schema, then the cross-field rules the schema cannot express
 * (member paths safe and unique, model and golden tensors present with matching sizes, mean/std
 * lengths per channel). Throws ManifestSchemaError listing the first violations with JSON paths.
 */
export function validateManifest(json: unknown): Manifest {
  const violations = schemaViolations(ManifestSchema, json);
  if (violations.length > 0) throw new ManifestSchemaError(violations);
  const manifest = json as Manifest;
  const semantic = manifestConsistencyViolations(manifest);
  if (semantic.length > 0) throw new ManifestSchemaError(semantic);
  return manifest;
}

function manifestConsistencyViolations(manifest: Manifest): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  if (Number.isNaN(Date.parse(manifest.createdAt))) {
    out.push({ path: '/createdAt', message: 'not a valid date' });
  }
  const byPath = new Map<string, Member>();
  manifest.members.forEach((member, i) => {
    if (!isSafeMemberPath(member.path)) {
      out.push({ path: `/members/${i}/path`, message: `unsafe member path ${JSON.stringify(member.path)}` });
    } else if (member.path === MANIFEST_MEMBER || member.path === SIGNATURE_MEMBER) {
      out.push({ path: `/members/${i}/path`, message: `${member.path} is reserved for the bundle format` });
    }
    if (byPath.has(member.path)) out.push({ path: `/members/${i}/path`, message: `duplicate member ${member.path}` });
    byPath.set(member.path, member);
  });

  const modelMember = byPath.get(manifest.model.path);
  if (modelMember === undefined) {
    out.push({ path: '/model/path', message: `model ${manifest.model.path} is not a member` });
  } else if (modelMember.role !== 'model') {
    out.push({ path: '/model/path', message: `member ${manifest.model.path} has role ${modelMember.role}, expected model` });
  }

  manifest.model.inputs.forEach((input, i) => {
    const pre = input.preprocessing;
    if (pre === undefined) return;
    const channels = pre.colorOrder === 'GRAY' ? 1 : 3;
    for (const key of ['mean', 'std'] as const) {
      const values = pre[key];
      if (values.length !== 1 && values.length !== channels) {
        out.push({
          path: `/model/inputs/${i}/preprocessing/${key}`,
          message: `expected 1 or ${channels} values for ${pre.colorOrder}, got ${values.length}`,
        });
      }
    }
    // letterboxColor is R,G,B or one grey value (0..255) whatever the model's colour order.
    if (pre.letterboxColor !== undefined && pre.letterboxColor.length === 2) {
      out.push({ path: `/model/inputs/${i}/preprocessing/letterboxColor`, message: 'expected 1 (grey) or 3 (R,G,B) values' });
    }
  });

  const inputNames = new Set(manifest.model.inputs.map((t) => t.name));
  const outputNames = new Set(manifest.model.outputs.map((t) => t.name));
  manifest.golden.forEach((sample, i) => {
    for (const [side, names] of [
      ['inputs', inputNames],
      ['outputs', outputNames],
    ] as const) {
      for (const [name, ref] of Object.entries(sample[side])) {
        const at = `/golden/${i}/${side}/${escapePointer(name)}`;
        if (!names.has(name)) out.push({ path: at, message: `no model ${side.slice(0, -1)} named ${name}` });
        const member = byPath.get(ref.member);
        if (member === undefined) {
          out.push({ path: `${at}/member`, message: `tensor member ${ref.member} is not a member` });
          continue;
        }
        const expected = ref.dims.reduce((a, b) => a * b, 1) * bytesPerElement(ref.dtype);
        if (member.size !== expected) {
          out.push({
            path: `${at}/member`,
            message: `${ref.member} is ${member.size} bytes but ${ref.dtype}[${ref.dims.join(',')}] needs ${expected}`,
          });
        }
      }
    }
  });
  return out;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
