/**
 * The subset of ONNX's protobuf schema (onnx/onnx.proto, IR version 8) that
 * resad writes and reads: models, graphs, nodes, attributes, tensors, value
 * infos and metadata. Field numbers are the schema's; protobufjs does the wire
 * encoding.
 *
 * Why a hand-declared subset: the official .proto is not shipped by any
 * registry package we depend on, and the writer needs only these messages.
 * onnxruntime loading what we write (test/onnx) checks the numbers.
 */
import * as protobuf from 'protobufjs';

/** ONNX TensorProto.DataType values used here. */
export const ONNX_DTYPE = { float: 1, int32: 6, int64: 7 } as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;

/** ONNX AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

export const ONNX_IR_VERSION = 8;
/** Default-domain opset the writer targets (Resize 'linear' with half_pixel, ReduceMax axes attribute). */
export const ONNX_OPSET = 17;

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 }, docString: { type: 'string', id: 3 } } },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            int32Data: { rule: 'repeated', type: 'int32', id: 5 },
            int64Data: { rule: 'repeated', type: 'int64', id: 7 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;

/** protobufjs type of onnx.ModelProto (built once). */
export function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(SCHEMA).lookupType('onnx.ModelProto');
  return modelType;
}

// Plain-object shapes of the messages (camelCase, as protobufjs names fields).

export interface TensorProtoJson {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int64Data?: number[];
}

export interface AttributeJson {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoJson;
  floats?: number[];
  ints?: number[];
}

export interface NodeJson {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: AttributeJson[];
  domain?: string;
}

/** A dimension: a fixed size or a symbolic name ('batch'). */
export type Dim = number | string;

export interface ValueInfoJson {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: Array<{ dimValue: number } | { dimParam: string }> } } };
  docString?: string;
}

export interface ModelJson {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: { name: string; node: NodeJson[]; initializer: TensorProtoJson[]; input: ValueInfoJson[]; output: ValueInfoJson[]; docString?: string };
  opsetImport: Array<{ domain: string; version: number }>;
  metadataProps: Array<{ key: string; value: string }>;
}

/** Serialises a model; the message is verified first so that a bad field names itself. */
export function encodeModel(model: ModelJson): Uint8Array {
  const type = modelProtoType();
  const problem = type.verify(model);
  if (problem) throw new Error(`ONNX writer: invalid model: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Parses an ONNX file's bytes (only the fields of this subset are kept). */
export function decodeModel(bytes: Uint8Array): ModelJson {
  const type = modelProtoType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: true, arrays: true }) as ModelJson;
}
