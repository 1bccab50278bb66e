// The subset of onnx.proto (ONNX IR, github.com/onnx/onnx/blob/main/onnx/onnx.proto; field numbers as
// there) that an exported decoder uses, encoded and decoded by protobufjs from a reflection descriptor (no
// generated code, no hand-written varints).
import protobuf from 'protobufjs/light.js';

const descriptor = {
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
            int64Data: { rule: 'repeated', type: 'int64', id: 7 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
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

/** onnx.TensorProto.DataType */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
/** onnx.AttributeProto.AttributeType */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface TensorMessage {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  /** ONNX external data: location (file beside model.onnx), offset, length; with dataLocation EXTERNAL */
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
}

/** onnx.TensorProto.DataLocation */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
export interface AttributeMessage {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMessage;
  floats?: number[];
  ints?: number[];
}
export interface NodeMessage {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: AttributeMessage[];
}
/** a dimension is a size or a symbolic name (transformers.js resolves "batch_size" and zeroes the rest) */
export type Dim = number | string;
export interface ValueInfoMessage {
  name: string;
  elemType: number;
  shape: Dim[];
}
export interface GraphMessage {
  name: string;
  node: NodeMessage[];
  initializer: TensorMessage[];
  input: ValueInfoMessage[];
  output: ValueInfoMessage[];
}
export interface ModelMessage {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: GraphMessage;
  metadata?: Record<string, string>;
}

const root = protobuf.Root.fromJSON(descriptor);
const ModelProto = root.lookupType('onnx.ModelProto');

function valueInfo(v: ValueInfoMessage): Record<string, unknown> {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: v.elemType, shape: { dim } } } };
}

/** ModelProto bytes */
export function encodeModel(m: ModelMessage): Uint8Array {
  const message = {
    irVersion: m.irVersion,
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    docString: m.docString ?? '',
    opsetImport: [{ domain: '', version: m.opset }],
    metadataProps: Object.entries(m.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: { ...m.graph, input: m.graph.input.map(valueInfo), output: m.graph.output.map(valueInfo) },
  };
  const err = ModelProto.verify(message);
  if (err) throw new Error(`ONNX model message is malformed: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

/** ModelProto bytes back to a plain object (int64 as numbers, bytes as Uint8Array): for tests and tools */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false, oneofs: true }) as Record<string, unknown>;
}
