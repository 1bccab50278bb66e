// A small builder for ONNX graphs: named values, initializers, typed attributes. Every value gets a fresh
// name, so a decoder reads as straight-line code (export.ts) without bookkeeping.
import { AttributeType, DataType, type AttributeMessage, type GraphMessage, type NodeMessage, type TensorMessage, type ValueInfoMessage } from './proto.ts';

/** an attribute value: int, ints, float or a data type for Cast */
export type Attr = { int: number } | { ints: number[] } | { float: number };

function attribute(name: string, a: Attr): AttributeMessage {
  if ('int' in a) return { name, type: AttributeType.INT, i: a.int };
  if ('ints' in a) return { name, type: AttributeType.INTS, ints: a.ints };
  return { name, type: AttributeType.FLOAT, f: a.float };
}

function bytesOf(a: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  // ONNX raw_data is little-endian, as every platform with WebAssembly / WebGPU is
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  readonly inputs: ValueInfoMessage[] = [];
  readonly outputs: ValueInfoMessage[] = [];
  private count = 0;
  private readonly int64Cache = new Map<string, string>();

  private fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  input(name: string, elemType: number, shape: (number | string)[]): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  output(name: string, elemType: number, shape: (number | string)[]): void {
    this.outputs.push({ name, elemType, shape });
  }

  /** a float32 initializer (weights) */
  floats(name: string, data: Float32Array, dims: number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: bytesOf(data) });
    return name;
  }

  /** a float32 constant (dims [] for a scalar) */
  floatConst(values: number[], dims: number[] = [values.length]): string {
    return this.floats(this.fresh('cf'), Float32Array.from(values), dims);
  }

  /** an int64 constant, shared between uses (shapes, axes, slice bounds); dims [] for a scalar */
  int64(values: number[], dims: number[] = [values.length]): string {
    const key = `${values.join(',')}|${dims.join(',')}`;
    const known = this.int64Cache.get(key);
    if (known) return known;
    const name = this.fresh('ci');
    this.initializers.push({ name, dims, dataType: DataType.INT64, rawData: bytesOf(BigInt64Array.from(values.map(BigInt))) });
    this.int64Cache.set(key, name);
    return name;
  }

  /** one node; returns its output's name (or names, with outputs > 1) */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`, opType, input: inputs, output: [out],
      attribute: Object.entries(attrs).map(([n, a]) => attribute(n, a)),
    });
    return out;
  }

  graph(name: string): GraphMessage {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}
