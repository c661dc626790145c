/**
 * The part of onnx.proto the builders write, as a protobufjs JSON descriptor (field numbers from onnx.proto3, ONNX 1.16).
 * Hand-written so the extension needs no .proto file or code generator at run time.
 */
import protobuf from 'protobufjs';

const rep = (type: string, id: number) => ({ rule: 'repeated', type, id });
const one = (type: string, id: number) => ({ type, id });

const DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: one('int64', 1), producerName: one('string', 2), producerVersion: one('string', 3),
            domain: one('string', 4), modelVersion: one('int64', 5), docString: one('string', 6),
            graph: one('GraphProto', 7), opsetImport: rep('OperatorSetIdProto', 8),
            metadataProps: rep('StringStringEntryProto', 14),
          },
        },
        StringStringEntryProto: { fields: { key: one('string', 1), value: one('string', 2) } },
        OperatorSetIdProto: { fields: { domain: one('string', 1), version: one('int64', 2) } },
        GraphProto: {
          fields: {
            node: rep('NodeProto', 1), name: one('string', 2), initializer: rep('TensorProto', 5),
            docString: one('string', 10), input: rep('ValueInfoProto', 11), output: rep('ValueInfoProto', 12),
            valueInfo: rep('ValueInfoProto', 13),
          },
        },
        NodeProto: {
          fields: {
            input: rep('string', 1), output: rep('string', 2), name: one('string', 3), opType: one('string', 4),
            attribute: rep('AttributeProto', 5), docString: one('string', 6), domain: one('string', 7),
          },
        },
        AttributeProto: {
          fields: {
            name: one('string', 1), f: one('float', 2), i: one('int64', 3), s: one('bytes', 4), t: one('TensorProto', 5),
            floats: rep('float', 7), ints: rep('int64', 8), type: one('int32', 20),
          },
        },
        TensorProto: {
          fields: {
            dims: rep('int64', 1), dataType: one('int32', 2), name: one('string', 8), rawData: one('bytes', 9),
            docString: one('string', 12),
            // Weights live in a side file: entries "location", "offset", "length"; dataLocation EXTERNAL = 1.
            externalData: rep('StringStringEntryProto', 13), dataLocation: one('int32', 14),
          },
        },
        ValueInfoProto: { fields: { name: one('string', 1), type: one('TypeProto', 2), docString: one('string', 3) } },
        TypeProto: { fields: { tensorType: one('TypeProtoTensor', 1) } },
        TypeProtoTensor: { fields: { elemType: one('int32', 1), shape: one('TensorShapeProto', 2) } },
        TensorShapeProto: { fields: { dim: rep('Dimension', 1) } },
        Dimension: { fields: { dimValue: one('int64', 1), dimParam: one('string', 2) } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR as protobuf.INamespace);
const ModelProtoType = root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, BFLOAT16: 16 } as const;
/** AttributeProto.AttributeType values used here. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface KeyValue { key: string; value: string }

export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  externalData?: KeyValue[];
  dataLocation?: number;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
}

export interface NodeProto {
  opType: string;
  input: string[];
  output: string[];
  name: string;
  domain?: string;
  attribute: AttributeProto[];
}

export type Dim = number | string;

export interface ValueInfoProto {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: ({ dimValue: number } | { dimParam: string })[] } } };
}

export interface ModelProto {
  irVersion: number;
  producerName: string;
  producerVersion?: string;
  opsetImport: { domain: string; version: number }[];
  metadataProps?: KeyValue[];
  graph: {
    name: string;
    node: NodeProto[];
    initializer: TensorProto[];
    input: ValueInfoProto[];
    output: ValueInfoProto[];
  };
}

export function valueInfo(name: string, elemType: number, shape: readonly Dim[]): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** Serialises a model; with external weights the buffer holds only the graph structure (kilobytes). */
export function encodeModel(model: ModelProto): Uint8Array {
  return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
}

/** For tests: parses a model written by encodeModel back to plain objects. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return ModelProtoType.toObject(ModelProtoType.decode(bytes), { longs: Number, bytes: Uint8Array, defaults: false }) as ModelProto;
}
