// The edgeloop ONNX IR: plain data, independent of the protobuf (only serde.ts converts).
// Everything a pass needs is typed; rarely used protobuf parts (functions, training info, sparse
// tensors, type-proto attributes, quantization annotations) are kept as opaque encoded messages so
// a load/save round trip loses nothing.
import type { DataTypeCode } from './data-type.js';

/** A protobuf message kept encoded; `bytes` is the message body (often a view into the file). */
export interface OpaqueProto {
  readonly kind: 'FunctionProto' | 'TrainingInfoProto' | 'SparseTensorProto' | 'TypeProto' | 'TensorAnnotation';
  readonly bytes: Uint8Array;
}

export interface StringEntry {
  key: string;
  value: string;
}

/** A dimension: a size, a symbolic name, or unknown. */
export type Dim = number | string | null;

/** Type of a value (ValueInfoProto.type). `shape: null` means the rank is unknown. */
export type ValueType =
  | { kind: 'tensor'; elemType: DataTypeCode; shape: Dim[] | null; dimDenotations?: (string | undefined)[]; denotation?: string }
  | { kind: 'sparse_tensor'; elemType: DataTypeCode; shape: Dim[] | null; dimDenotations?: (string | undefined)[]; denotation?: string }
  | { kind: 'sequence'; elem: ValueType | null; denotation?: string }
  | { kind: 'optional'; elem: ValueType | null; denotation?: string }
  | { kind: 'map'; keyType: DataTypeCode; value: ValueType | null; denotation?: string };

export interface ValueInfo {
  name: string;
  /** null: the model declares no type for this value. */
  type: ValueType | null;
  docString?: string;
  metadataProps?: StringEntry[];
}

/** Where an external-data tensor's bytes live (ONNX external data, relative to the model folder). */
export interface ExternalDataRef {
  location: string;
  offset: number;
  length: number;
  checksum?: string;
  /** Every external_data entry as written, for lossless round trips. */
  entries: StringEntry[];
}

export interface Tensor {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  /**
   * Element bytes, little-endian, tightly packed. For raw_data and external data this is a view
   * into the loaded file's buffer, never a copy. Empty for STRING tensors.
   */
  data: Uint8Array;
  /** STRING tensors: one byte string per element (ONNX strings are bytes, usually UTF-8). */
  strings?: Uint8Array[];
  /** Set when the tensor was loaded from (or is to be kept in) an external data file. */
  external?: ExternalDataRef;
  segment?: { begin: number; end: number };
  docString?: string;
  metadataProps?: StringEntry[];
}

/** int64 values are numbers when exactly representable, bigint otherwise (e.g. odd huge sentinels). */
export type Int64 = number | bigint;

export type Attribute = (
  | { type: 'float'; value: number }
  | { type: 'int'; value: Int64 }
  | { type: 'string'; value: Uint8Array }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'sparse_tensor'; value: OpaqueProto }
  | { type: 'type_proto'; value: OpaqueProto }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: Int64[] }
  | { type: 'strings'; value: Uint8Array[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'sparse_tensors'; value: OpaqueProto[] }
  | { type: 'type_protos'; value: OpaqueProto[] }
  | { type: 'undefined'; value: null }
) & { refAttrName?: string; docString?: string };

export type AttributeType = Attribute['type'];

export interface Node {
  name: string;
  opType: string;
  /** '' or 'ai.onnx' is the default domain. */
  domain: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
  docString?: string;
  overload?: string;
  metadataProps?: StringEntry[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Tensor[];
  valueInfo: ValueInfo[];
  docString?: string;
  sparseInitializers?: OpaqueProto[];
  quantizationAnnotations?: OpaqueProto[];
  metadataProps?: StringEntry[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadataProps: StringEntry[];
  graph: Graph;
  functions: OpaqueProto[];
  trainingInfo: OpaqueProto[];
}
