// The only module that touches the ONNX protobuf: converts between ModelProto bytes and the IR.
// Initializer bytes (raw_data, external data) stay views into the buffer they were read from;
// int64 fields are decoded through long.js and come out exact (number when safe, bigint otherwise).
import { readFileSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import protobuf from 'protobufjs/light.js';
import { OnnxLoadError } from '../errors.js';
import { DataType, dataTypeBits } from './data-type.js';
import { onnxSchema } from './onnx-schema.js';
import type {
  Attribute, Dim, ExternalDataRef, Graph, Int64, Model, Node, OpaqueProto, StringEntry, Tensor, ValueInfo,
  ValueType,
} from './types.js';

const root = protobuf.Root.fromJSON(onnxSchema);
const ModelProto = root.lookupType('onnx.ModelProto');
const TensorProto = root.lookupType('onnx.TensorProto');
const opaqueTypes = {
  FunctionProto: root.lookupType('onnx.FunctionProto'),
  TrainingInfoProto: root.lookupType('onnx.TrainingInfoProto'),
  SparseTensorProto: root.lookupType('onnx.SparseTensorProto'),
  TypeProto: root.lookupType('onnx.TypeProto'),
  TensorAnnotation: root.lookupType('onnx.TensorAnnotation'),
};

// Decoded protobuf messages are dynamic objects; this alias keeps the `any` in one place.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = any;
interface LongLike { low: number; high: number; unsigned: boolean; toNumber(): number; toString(): string }

const has = (m: Msg, field: string): boolean => m != null && Object.prototype.hasOwnProperty.call(m, field);
const optionalString = (m: Msg, field: string): string | undefined => (has(m, field) && m[field] !== '' ? m[field] : undefined);

function toInt64(v: number | LongLike): Int64 {
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : BigInt(v.toString());
}
function toSafeNumber(v: number | LongLike, what: string): number {
  const n = toInt64(v);
  if (typeof n === 'bigint') throw new RangeError(`${what} ${n} exceeds 2^53`);
  return n;
}
/** protobufjs writes int64 from numbers or decimal strings; bigints go as strings (exact). */
const int64Out = (v: Int64): number | string => (typeof v === 'bigint' ? v.toString() : v);
/** A Buffer view over the same memory, so protobufjs copies it with memcpy instead of a JS loop. */
const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

export interface DecodeOptions {
  /** Folder that external-data locations are relative to (loadModel: the model file's folder). */
  baseDir?: string;
  /** Name used in error messages (a path); defaults to '<bytes>'. */
  source?: string;
}

interface DecodeContext {
  baseDir?: string;
  source: string;
  externalFiles: Map<string, Buffer>;
}

// ---------------------------------------------------------------- decoding

function entries(list: Msg[] | undefined): StringEntry[] {
  return (list ?? []).map((e: Msg) => ({ key: e.key ?? '', value: e.value ?? '' }));
}
function withMetadata<T extends object>(target: T, m: Msg): T {
  if (m.metadataProps?.length) (target as { metadataProps?: StringEntry[] }).metadataProps = entries(m.metadataProps);
  return target;
}
function opaque(kind: OpaqueProto['kind'], m: Msg): OpaqueProto {
  return { kind, bytes: opaqueTypes[kind].encode(m).finish() };
}

function decodeShape(shape: Msg | null | undefined): { shape: Dim[] | null; dimDenotations?: (string | undefined)[] } {
  if (!shape) return { shape: null };
  const dims: Dim[] = [];
  const denotations: (string | undefined)[] = [];
  for (const d of shape.dim as Msg[]) {
    if (has(d, 'dimValue')) dims.push(toSafeNumber(d.dimValue, 'dimension'));
    else if (has(d, 'dimParam')) dims.push(d.dimParam as string);
    else dims.push(null);
    denotations.push(optionalString(d, 'denotation'));
  }
  return denotations.some((x) => x !== undefined) ? { shape: dims, dimDenotations: denotations } : { shape: dims };
}

function decodeType(t: Msg | null | undefined): ValueType | null {
  if (!t) return null;
  const denotation = optionalString(t, 'denotation');
  const extra = denotation !== undefined ? { denotation } : {};
  if (has(t, 'tensorType')) return { kind: 'tensor', elemType: t.tensorType.elemType ?? 0, ...decodeShape(t.tensorType.shape), ...extra };
  if (has(t, 'sparseTensorType')) {
    return { kind: 'sparse_tensor', elemType: t.sparseTensorType.elemType ?? 0, ...decodeShape(t.sparseTensorType.shape), ...extra };
  }
  if (has(t, 'sequenceType')) return { kind: 'sequence', elem: decodeType(t.sequenceType.elemType), ...extra };
  if (has(t, 'optionalType')) return { kind: 'optional', elem: decodeType(t.optionalType.elemType), ...extra };
  if (has(t, 'mapType')) return { kind: 'map', keyType: t.mapType.keyType ?? 0, value: decodeType(t.mapType.valueType), ...extra };
  return null;
}

function decodeValueInfo(v: Msg): ValueInfo {
  const info: ValueInfo = { name: v.name ?? '', type: decodeType(has(v, 'type') ? v.type : null) };
  const doc = optionalString(v, 'docString');
  if (doc !== undefined) info.docString = doc;
  return withMetadata(info, v);
}

function readExternalFile(ctx: DecodeContext, location: string): Buffer {
  const cached = ctx.externalFiles.get(location);
  if (cached) return cached;
  if (ctx.baseDir === undefined) throw new OnnxLoadError(ctx.source, `external data '${location}' needs a base folder`);
  if (isAbsolute(location) || normalize(location).split(sep).includes('..')) {
    throw new OnnxLoadError(ctx.source, `external data location '${location}' escapes the model folder`);
  }
  let buf: Buffer;
  try {
    buf = readFileSync(join(ctx.baseDir, location));
  } catch (err) {
    throw new OnnxLoadError(ctx.source, `cannot read external data '${location}': ${(err as Error).message}`, { cause: err });
  }
  ctx.externalFiles.set(location, buf);
  return buf;
}

function elementCount(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Converts the typed *_data fields to little-endian element bytes. */
function typedFieldBytes(t: Msg, dataType: number): Uint8Array {
  const write = (n: number, width: number, put: (view: DataView, offset: number, i: number) => void): Uint8Array => {
    const out = new Uint8Array(n * width);
    const view = new DataView(out.buffer);
    for (let i = 0; i < n; i++) put(view, i * width, i);
    return out;
  };
  if (t.floatData?.length) return write(t.floatData.length, 4, (v, o, i) => v.setFloat32(o, t.floatData[i], true));
  if (t.doubleData?.length) return write(t.doubleData.length, 8, (v, o, i) => v.setFloat64(o, t.doubleData[i], true));
  const put64 = (v: DataView, o: number, x: number | LongLike): void => {
    if (typeof x === 'number') v.setBigInt64(o, BigInt(x), true);
    else { v.setInt32(o, x.low, true); v.setInt32(o + 4, x.high, true); }
  };
  if (t.int64Data?.length) return write(t.int64Data.length, 8, (v, o, i) => put64(v, o, t.int64Data[i]));
  if (t.uint64Data?.length) {
    if (dataType === DataType.UINT32) return write(t.uint64Data.length, 4, (v, o, i) => v.setUint32(o, Number(t.uint64Data[i]), true));
    return write(t.uint64Data.length, 8, (v, o, i) => put64(v, o, t.uint64Data[i]));
  }
  if (t.int32Data?.length) {
    const bits = dataTypeBits(dataType);
    if (bits === 32) return write(t.int32Data.length, 4, (v, o, i) => v.setInt32(o, t.int32Data[i], true));
    if (bits === 16) return write(t.int32Data.length, 2, (v, o, i) => v.setUint16(o, t.int32Data[i] & 0xffff, true));
    // 8-bit types one element per entry; 4-bit types carry two packed elements per entry's low byte.
    return write(t.int32Data.length, 1, (v, o, i) => v.setUint8(o, t.int32Data[i] & 0xff));
  }
  return new Uint8Array(0);
}

function decodeTensorProto(t: Msg, ctx: DecodeContext): Tensor {
  const dims = (t.dims as (number | LongLike)[]).map((d) => toSafeNumber(d, 'tensor dimension'));
  const dataType: number = t.dataType ?? 0;
  const tensor: Tensor = { name: t.name ?? '', dataType, dims, data: new Uint8Array(0) };
  if (t.dataLocation === 1) {
    const list = entries(t.externalData);
    const get = (k: string): string | undefined => list.find((e) => e.key === k)?.value;
    const location = get('location');
    if (!location) throw new OnnxLoadError(ctx.source, `tensor '${tensor.name}' has external data without a location`);
    const file = readExternalFile(ctx, location);
    const offset = Number(get('offset') ?? 0);
    const length = get('length') !== undefined ? Number(get('length')) : Math.ceil((dataTypeBits(dataType) * elementCount(dims)) / 8);
    if (!(offset >= 0 && length >= 0 && offset + length <= file.length)) {
      throw new OnnxLoadError(ctx.source, `tensor '${tensor.name}': external data ${location}[${offset}, +${length}) is outside the file`);
    }
    tensor.data = file.subarray(offset, offset + length);
    const ref: ExternalDataRef = { location, offset, length, entries: list };
    const checksum = get('checksum');
    if (checksum !== undefined) ref.checksum = checksum;
    tensor.external = ref;
  } else if (dataType === DataType.STRING) {
    tensor.strings = [...(t.stringData as Uint8Array[])];
  } else if (has(t, 'rawData')) {
    tensor.data = t.rawData;
  } else {
    tensor.data = typedFieldBytes(t, dataType);
  }
  if (has(t, 'segment')) tensor.segment = { begin: toSafeNumber(t.segment.begin, 'segment'), end: toSafeNumber(t.segment.end, 'segment') };
  const doc = optionalString(t, 'docString');
  if (doc !== undefined) tensor.docString = doc;
  return withMetadata(tensor, t);
}

function decodeAttribute(a: Msg, ctx: DecodeContext): Attribute {
  let attr: Attribute;
  switch (a.type as number) {
    case 1: attr = { type: 'float', value: a.f }; break;
    case 2: attr = { type: 'int', value: toInt64(a.i) }; break;
    case 3: attr = { type: 'string', value: a.s }; break;
    case 4: attr = { type: 'tensor', value: decodeTensorProto(a.t, ctx) }; break;
    case 5: attr = { type: 'graph', value: decodeGraph(a.g, ctx) }; break;
    case 11: attr = { type: 'sparse_tensor', value: opaque('SparseTensorProto', a.sparseTensor) }; break;
    case 13: attr = { type: 'type_proto', value: opaque('TypeProto', a.tp) }; break;
    case 6: attr = { type: 'floats', value: [...(a.floats as number[])] }; break;
    case 7: attr = { type: 'ints', value: (a.ints as (number | LongLike)[]).map(toInt64) }; break;
    case 8: attr = { type: 'strings', value: [...(a.strings as Uint8Array[])] }; break;
    case 9: attr = { type: 'tensors', value: (a.tensors as Msg[]).map((t) => decodeTensorProto(t, ctx)) }; break;
    case 10: attr = { type: 'graphs', value: (a.graphs as Msg[]).map((g) => decodeGraph(g, ctx)) }; break;
    case 12: attr = { type: 'sparse_tensors', value: (a.sparseTensors as Msg[]).map((s) => opaque('SparseTensorProto', s)) }; break;
    case 14: attr = { type: 'type_protos', value: (a.typeProtos as Msg[]).map((s) => opaque('TypeProto', s)) }; break;
    default: attr = { type: 'undefined', value: null };
  }
  const ref = optionalString(a, 'refAttrName');
  if (ref !== undefined) attr.refAttrName = ref;
  const doc = optionalString(a, 'docString');
  if (doc !== undefined) attr.docString = doc;
  return attr;
}

function decodeNode(n: Msg, ctx: DecodeContext): Node {
  const attributes: Record<string, Attribute> = {};
  for (const a of n.attribute as Msg[]) attributes[a.name ?? ''] = decodeAttribute(a, ctx);
  const node: Node = {
    name: n.name ?? '', opType: n.opType ?? '', domain: n.domain ?? '',
    inputs: [...(n.input as string[])], outputs: [...(n.output as string[])], attributes,
  };
  const doc = optionalString(n, 'docString');
  if (doc !== undefined) node.docString = doc;
  const overload = optionalString(n, 'overload');
  if (overload !== undefined) node.overload = overload;
  return withMetadata(node, n);
}

function decodeGraph(g: Msg, ctx: DecodeContext): Graph {
  const graph: Graph = {
    name: g.name ?? '',
    nodes: (g.node as Msg[]).map((n) => decodeNode(n, ctx)),
    inputs: (g.input as Msg[]).map(decodeValueInfo),
    outputs: (g.output as Msg[]).map(decodeValueInfo),
    initializers: (g.initializer as Msg[]).map((t) => decodeTensorProto(t, ctx)),
    valueInfo: (g.valueInfo as Msg[]).map(decodeValueInfo),
  };
  const doc = optionalString(g, 'docString');
  if (doc !== undefined) graph.docString = doc;
  if (g.sparseInitializer?.length) graph.sparseInitializers = (g.sparseInitializer as Msg[]).map((s) => opaque('SparseTensorProto', s));
  if (g.quantizationAnnotation?.length) graph.quantizationAnnotations = (g.quantizationAnnotation as Msg[]).map((s) => opaque('TensorAnnotation', s));
  return withMetadata(graph, g);
}

function decodeProto(bytes: Uint8Array, source: string, type: protobuf.Type): Msg {
  if (bytes.byteLength === 0) throw new OnnxLoadError(source, 'empty file');
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new OnnxLoadError(source, `truncated or corrupt protobuf (${(err as Error).message})`, { cause: err });
  }
}

/** Decodes ModelProto bytes. Initializer data are views into `bytes` (no copy). */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): Model {
  const source = options.source ?? '<bytes>';
  const m = decodeProto(bytes, source, ModelProto);
  // protobuf accepts many byte strings (even random ones) as some message; these checks reject
  // what no ONNX writer produces.
  if (!has(m, 'irVersion')) throw new OnnxLoadError(source, 'no ir_version');
  const irVersion = toInt64(m.irVersion);
  if (typeof irVersion !== 'number' || irVersion < 1 || irVersion > 1000) throw new OnnxLoadError(source, `implausible ir_version ${irVersion}`);
  if (!has(m, 'graph')) throw new OnnxLoadError(source, 'no graph');
  if (!m.opsetImport?.length) throw new OnnxLoadError(source, 'no opset imports');
  const opsetImports = (m.opsetImport as Msg[]).map((o) => ({ domain: o.domain ?? '', version: toSafeNumber(o.version, 'opset version') }));
  const ctx: DecodeContext = { source, externalFiles: new Map() };
  if (options.baseDir !== undefined) ctx.baseDir = options.baseDir;
  let graph: Graph;
  try {
    graph = decodeGraph(m.graph, ctx);
  } catch (err) {
    if (err instanceof OnnxLoadError) throw err;
    throw new OnnxLoadError(source, `malformed graph (${(err as Error).message})`, { cause: err });
  }
  const badNode = graph.nodes.find((n) => n.opType === '');
  if (badNode) throw new OnnxLoadError(source, `node '${badNode.name}' has no op_type`);
  return {
    irVersion,
    opsetImports,
    producerName: m.producerName ?? '',
    producerVersion: m.producerVersion ?? '',
    domain: m.domain ?? '',
    modelVersion: toSafeNumber(m.modelVersion ?? 0, 'model_version'),
    docString: m.docString ?? '',
    metadataProps: entries(m.metadataProps),
    graph,
    functions: (m.functions as Msg[]).map((f) => opaque('FunctionProto', f)),
    trainingInfo: (m.trainingInfo as Msg[]).map((f) => opaque('TrainingInfoProto', f)),
  };
}

/** Decodes a serialized TensorProto (e.g. the test corpus's input_0.pb). Data stay views into `bytes`. */
export function decodeTensor(bytes: Uint8Array, options: DecodeOptions = {}): Tensor {
  const source = options.source ?? '<bytes>';
  const t = decodeProto(bytes, source, TensorProto);
  const ctx: DecodeContext = { source, externalFiles: new Map() };
  if (options.baseDir !== undefined) ctx.baseDir = options.baseDir;
  try {
    return decodeTensorProto(t, ctx);
  } catch (err) {
    if (err instanceof OnnxLoadError) throw err;
    throw new OnnxLoadError(source, `malformed tensor (${(err as Error).message})`, { cause: err });
  }
}

// ---------------------------------------------------------------- encoding

/** Tensors to write as external references instead of inline bytes. */
export type ExternalPlan = Map<Tensor, ExternalDataRef>;

const entriesOut = (list: StringEntry[]): Msg[] => list.map((e) => ({ key: e.key, value: e.value }));
function metaOut(target: Msg, src: { metadataProps?: StringEntry[] }): Msg {
  if (src.metadataProps?.length) target.metadataProps = entriesOut(src.metadataProps);
  return target;
}
const opaqueOut = (o: OpaqueProto): Msg => opaqueTypes[o.kind].decode(o.bytes);

function encodeShape(shape: Dim[] | null, denotations: (string | undefined)[] | undefined): Msg | undefined {
  if (shape === null) return undefined;
  return {
    dim: shape.map((d, i) => {
      const dim: Msg = typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {};
      if (denotations?.[i] !== undefined) dim.denotation = denotations[i];
      return dim;
    }),
  };
}

function encodeType(t: ValueType): Msg {
  const out: Msg = {};
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const body: Msg = { elemType: t.elemType };
      const shape = encodeShape(t.shape, t.dimDenotations);
      if (shape) body.shape = shape;
      out[t.kind === 'tensor' ? 'tensorType' : 'sparseTensorType'] = body;
      break;
    }
    case 'sequence': out.sequenceType = t.elem ? { elemType: encodeType(t.elem) } : {}; break;
    case 'optional': out.optionalType = t.elem ? { elemType: encodeType(t.elem) } : {}; break;
    case 'map': out.mapType = t.value ? { keyType: t.keyType, valueType: encodeType(t.value) } : { keyType: t.keyType }; break;
  }
  if (t.denotation !== undefined) out.denotation = t.denotation;
  return out;
}

function encodeValueInfo(v: ValueInfo): Msg {
  const out: Msg = { name: v.name };
  if (v.type) out.type = encodeType(v.type);
  if (v.docString !== undefined) out.docString = v.docString;
  return metaOut(out, v);
}

function encodeTensorProto(t: Tensor, plan: ExternalPlan | undefined): Msg {
  const out: Msg = { dims: t.dims, dataType: t.dataType };
  if (t.name) out.name = t.name;
  const ext = plan?.get(t);
  if (ext) {
    out.dataLocation = 1;
    out.externalData = entriesOut(ext.entries);
  } else if (t.dataType === DataType.STRING) {
    out.stringData = (t.strings ?? []).map(asBuffer);
  } else {
    out.rawData = asBuffer(t.data);
  }
  if (t.segment) out.segment = t.segment;
  if (t.docString !== undefined) out.docString = t.docString;
  return metaOut(out, t);
}

function encodeAttribute(name: string, a: Attribute, plan: ExternalPlan | undefined): Msg {
  const out: Msg = { name };
  const codes: Record<Attribute['type'], number> = {
    undefined: 0, float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8, tensors: 9,
    graphs: 10, sparse_tensor: 11, sparse_tensors: 12, type_proto: 13, type_protos: 14,
  };
  out.type = codes[a.type];
  switch (a.type) {
    case 'float': out.f = a.value; break;
    case 'int': out.i = int64Out(a.value); break;
    case 'string': out.s = asBuffer(a.value); break;
    case 'tensor': out.t = encodeTensorProto(a.value, plan); break;
    case 'graph': out.g = encodeGraph(a.value, plan); break;
    case 'sparse_tensor': out.sparseTensor = opaqueOut(a.value); break;
    case 'type_proto': out.tp = opaqueOut(a.value); break;
    case 'floats': out.floats = a.value; break;
    case 'ints': out.ints = a.value.map(int64Out); break;
    case 'strings': out.strings = a.value.map(asBuffer); break;
    case 'tensors': out.tensors = a.value.map((t) => encodeTensorProto(t, plan)); break;
    case 'graphs': out.graphs = a.value.map((g) => encodeGraph(g, plan)); break;
    case 'sparse_tensors': out.sparseTensors = a.value.map(opaqueOut); break;
    case 'type_protos': out.typeProtos = a.value.map(opaqueOut); break;
    case 'undefined': break;
  }
  if (a.refAttrName !== undefined) out.refAttrName = a.refAttrName;
  if (a.docString !== undefined) out.docString = a.docString;
  return out;
}

function encodeNode(n: Node, plan: ExternalPlan | undefined): Msg {
  const out: Msg = {
    input: n.inputs, output: n.outputs, opType: n.opType,
    attribute: Object.entries(n.attributes).map(([name, a]) => encodeAttribute(name, a, plan)),
  };
  if (n.name) out.name = n.name;
  if (n.domain) out.domain = n.domain;
  if (n.docString !== undefined) out.docString = n.docString;
  if (n.overload !== undefined) out.overload = n.overload;
  return metaOut(out, n);
}

function encodeGraph(g: Graph, plan: ExternalPlan | undefined): Msg {
  const out: Msg = {
    node: g.nodes.map((n) => encodeNode(n, plan)),
    name: g.name,
    initializer: g.initializers.map((t) => encodeTensorProto(t, plan)),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    valueInfo: g.valueInfo.map(encodeValueInfo),
  };
  if (g.docString !== undefined) out.docString = g.docString;
  if (g.sparseInitializers?.length) out.sparseInitializer = g.sparseInitializers.map(opaqueOut);
  if (g.quantizationAnnotations?.length) out.quantizationAnnotation = g.quantizationAnnotations.map(opaqueOut);
  return metaOut(out, g);
}

/** Serializes a model; tensors in `plan` are written as external-data references, the rest inline. */
export function encodeModelWithPlan(model: Model, plan: ExternalPlan | undefined): Uint8Array {
  const out: Msg = {
    irVersion: model.irVersion,
    opsetImport: model.opsetImports.map((o) => (o.domain ? { domain: o.domain, version: o.version } : { version: o.version })),
    graph: encodeGraph(model.graph, plan),
  };
  if (model.producerName) out.producerName = model.producerName;
  if (model.producerVersion) out.producerVersion = model.producerVersion;
  if (model.domain) out.domain = model.domain;
  if (model.modelVersion) out.modelVersion = model.modelVersion;
  if (model.docString) out.docString = model.docString;
  if (model.metadataProps.length) out.metadataProps = entriesOut(model.metadataProps);
  if (model.trainingInfo.length) out.trainingInfo = model.trainingInfo.map(opaqueOut);
  if (model.functions.length) out.functions = model.functions.map(opaqueOut);
  return ModelProto.encode(out).finish();
}

/** Serializes a model with every tensor inline (external references become raw_data). */
export function encodeModel(model: Model): Uint8Array {
  return encodeModelWithPlan(model, undefined);
}

/** Serializes one tensor as a TensorProto (inline data). */
export function encodeTensor(tensor: Tensor): Uint8Array {
  return TensorProto.encode(encodeTensorProto(tensor, undefined)).finish();
}
