// protobufjs JSON descriptor of the ONNX protobuf messages (package `onnx`, proto2).
// Field numbers follow the ONNX specification (onnx/onnx.proto); fields added after ONNX 1.12
// (metadata_props on nodes/graphs/tensors/value infos, function attribute_proto/value_info/overload)
// are included so models written by newer exporters round-trip without losing them.
// Kept as a TS module so the schema ships inside dist/ with no file copying.

type Rule = 'repeated' | 'optional';
interface FieldDescriptor {
  type: string;
  id: number;
  rule?: Rule;
  options?: { packed?: boolean };
}
interface MessageDescriptor {
  fields: Record<string, FieldDescriptor>;
  oneofs?: Record<string, { oneof: string[] }>;
  nested?: Record<string, MessageDescriptor | EnumDescriptor>;
}
interface EnumDescriptor {
  values: Record<string, number>;
}

const opt = (type: string, id: number): FieldDescriptor => ({ type, id, rule: 'optional' });
const rep = (type: string, id: number): FieldDescriptor => ({ type, id, rule: 'repeated' });
const packed = (type: string, id: number): FieldDescriptor => ({ type, id, rule: 'repeated', options: { packed: true } });

const dimension: MessageDescriptor = {
  oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
  fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 }, denotation: opt('string', 3) },
};

const onnxMessages: Record<string, MessageDescriptor | EnumDescriptor> = {
  AttributeProto: {
    fields: {
      name: opt('string', 1),
      refAttrName: opt('string', 21),
      docString: opt('string', 13),
      type: opt('AttributeType', 20),
      f: opt('float', 2),
      i: opt('int64', 3),
      s: opt('bytes', 4),
      t: opt('TensorProto', 5),
      g: opt('GraphProto', 6),
      sparseTensor: opt('SparseTensorProto', 22),
      tp: opt('TypeProto', 14),
      floats: rep('float', 7),
      ints: rep('int64', 8),
      strings: rep('bytes', 9),
      tensors: rep('TensorProto', 10),
      graphs: rep('GraphProto', 11),
      sparseTensors: rep('SparseTensorProto', 23),
      typeProtos: rep('TypeProto', 15),
    },
    nested: {
      AttributeType: {
        values: {
          UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11, TYPE_PROTO: 13,
          FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
        },
      },
    },
  },
  ValueInfoProto: {
    fields: {
      name: opt('string', 1),
      type: opt('TypeProto', 2),
      docString: opt('string', 3),
      metadataProps: rep('StringStringEntryProto', 4),
    },
  },
  NodeProto: {
    fields: {
      input: rep('string', 1),
      output: rep('string', 2),
      name: opt('string', 3),
      opType: opt('string', 4),
      domain: opt('string', 7),
      overload: opt('string', 8),
      attribute: rep('AttributeProto', 5),
      docString: opt('string', 6),
      metadataProps: rep('StringStringEntryProto', 9),
    },
  },
  TrainingInfoProto: {
    fields: {
      initialization: opt('GraphProto', 1),
      algorithm: opt('GraphProto', 2),
      initializationBinding: rep('StringStringEntryProto', 3),
      updateBinding: rep('StringStringEntryProto', 4),
    },
  },
  ModelProto: {
    fields: {
      irVersion: opt('int64', 1),
      opsetImport: rep('OperatorSetIdProto', 8),
      producerName: opt('string', 2),
      producerVersion: opt('string', 3),
      domain: opt('string', 4),
      modelVersion: opt('int64', 5),
      docString: opt('string', 6),
      graph: opt('GraphProto', 7),
      metadataProps: rep('StringStringEntryProto', 14),
      trainingInfo: rep('TrainingInfoProto', 20),
      functions: rep('FunctionProto', 25),
    },
  },
  StringStringEntryProto: {
    fields: { key: opt('string', 1), value: opt('string', 2) },
  },
  TensorAnnotation: {
    fields: {
      tensorName: opt('string', 1),
      quantParameterTensorNames: rep('StringStringEntryProto', 2),
    },
  },
  GraphProto: {
    fields: {
      node: rep('NodeProto', 1),
      name: opt('string', 2),
      initializer: rep('TensorProto', 5),
      sparseInitializer: rep('SparseTensorProto', 15),
      docString: opt('string', 10),
      input: rep('ValueInfoProto', 11),
      output: rep('ValueInfoProto', 12),
      valueInfo: rep('ValueInfoProto', 13),
      quantizationAnnotation: rep('TensorAnnotation', 14),
      metadataProps: rep('StringStringEntryProto', 16),
    },
  },
  TensorProto: {
    fields: {
      dims: rep('int64', 1),
      dataType: opt('int32', 2),
      segment: opt('Segment', 3),
      floatData: packed('float', 4),
      int32Data: packed('int32', 5),
      stringData: rep('bytes', 6),
      int64Data: packed('int64', 7),
      name: opt('string', 8),
      docString: opt('string', 12),
      rawData: opt('bytes', 9),
      externalData: rep('StringStringEntryProto', 13),
      dataLocation: opt('DataLocation', 14),
      doubleData: packed('double', 10),
      uint64Data: packed('uint64', 11),
      metadataProps: rep('StringStringEntryProto', 16),
    },
    nested: {
      Segment: { fields: { begin: opt('int64', 1), end: opt('int64', 2) } },
      DataLocation: { values: { DEFAULT: 0, EXTERNAL: 1 } },
    },
  },
  SparseTensorProto: {
    fields: {
      values: opt('TensorProto', 1),
      indices: opt('TensorProto', 2),
      dims: rep('int64', 3),
    },
  },
  TensorShapeProto: {
    fields: { dim: rep('Dimension', 1) },
    nested: { Dimension: dimension },
  },
  TypeProto: {
    oneofs: { value: { oneof: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType'] } },
    fields: {
      tensorType: { type: 'Tensor', id: 1 },
      sequenceType: { type: 'Sequence', id: 4 },
      mapType: { type: 'Map', id: 5 },
      optionalType: { type: 'Optional', id: 9 },
      sparseTensorType: { type: 'SparseTensor', id: 8 },
      denotation: opt('string', 6),
    },
    nested: {
      Tensor: { fields: { elemType: opt('int32', 1), shape: opt('TensorShapeProto', 2) } },
      Sequence: { fields: { elemType: opt('TypeProto', 1) } },
      Map: { fields: { keyType: opt('int32', 1), valueType: opt('TypeProto', 2) } },
      Optional: { fields: { elemType: opt('TypeProto', 1) } },
      SparseTensor: { fields: { elemType: opt('int32', 1), shape: opt('TensorShapeProto', 2) } },
    },
  },
  OperatorSetIdProto: {
    fields: { domain: opt('string', 1), version: opt('int64', 2) },
  },
  FunctionProto: {
    fields: {
      name: opt('string', 1),
      input: rep('string', 4),
      output: rep('string', 5),
      attribute: rep('string', 6),
      attributeProto: rep('AttributeProto', 11),
      node: rep('NodeProto', 7),
      docString: opt('string', 8),
      opsetImport: rep('OperatorSetIdProto', 9),
      domain: opt('string', 10),
      overload: opt('string', 13),
      valueInfo: rep('ValueInfoProto', 12),
      metadataProps: rep('StringStringEntryProto', 14),
    },
  },
  OperatorStatus: { values: { EXPERIMENTAL: 0, STABLE: 1 } },
};

/** The ONNX schema as a protobufjs JSON descriptor (`protobuf.Root.fromJSON(onnxSchema)`). */
export const onnxSchema = { nested: { onnx: { nested: onnxMessages } } };
