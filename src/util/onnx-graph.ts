/**
 * A small builder for ONNX graphs: inputs, outputs, constant tensors
 * (initialisers) and nodes with auto-named outputs, written as a model file
 * with metadata.
 *
 * ```ts
 * const g = new OnnxGraph('demo');
 * const x = g.input('x', ['batch', 4]);
 * const w = g.constant('w', new Float32Array(8), [4, 2]);
 * g.output(g.node('MatMul', [x, w]), 'y', ['batch', 2]);
 * fs.writeFileSync('demo.onnx', g.toBytes({ metadata: { note: 'hi' } }));
 * ```
 */
import { ATTRIBUTE_TYPE, AttributeJson, Dim, encodeModel, NodeJson, ONNX_DTYPE, ONNX_IR_VERSION, ONNX_OPSET, OnnxDType, TensorProtoJson, ValueInfoJson } from './onnx-proto';

/** Attribute values: an integer (INT), integers (INTS), a string, or an explicit float / floats. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** Marks a float attribute (a plain number is written as an integer attribute). */
export const float = (value: number): { float: number } => ({ float: value });
export const floats = (values: number[]): { floats: number[] } => ({ floats: values });

function attribute(name: string, value: AttrValue): AttributeJson {
  if (typeof value === 'string') return { name, type: ATTRIBUTE_TYPE.string, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (!value.every(Number.isInteger)) throw new Error(`ONNX attribute ${name}: integer list expected, got ${JSON.stringify(value)} (use floats([...]))`);
    return { name, type: ATTRIBUTE_TYPE.ints, ints: value };
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`ONNX attribute ${name}: ${value} is not an integer (use float(${value}))`);
    return { name, type: ATTRIBUTE_TYPE.int, i: value };
  }
  if ('float' in value) return { name, type: ATTRIBUTE_TYPE.float, f: value.float };
  return { name, type: ATTRIBUTE_TYPE.floats, floats: value.floats };
}

function valueInfo(name: string, dims: readonly Dim[], dtype: OnnxDType): ValueInfoJson {
  return {
    name,
    type: { tensorType: { elemType: ONNX_DTYPE[dtype], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function rawBytes(values: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  // ONNX raw_data is little-endian, as are typed arrays on every platform Node runs on.
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

export class OnnxGraph {
  private readonly nodes: NodeJson[] = [];
  private readonly initializers: TensorProtoJson[] = [];
  private readonly inputs: ValueInfoJson[] = [];
  private readonly outputs: ValueInfoJson[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: the name "${name}" is used twice`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  input(name: string, dims: readonly Dim[], dtype: OnnxDType = 'float'): string {
    this.inputs.push(valueInfo(this.claim(name), dims, dtype));
    return name;
  }

  /** Declares `value` as a graph output named `name` (an Identity node renames it when needed). */
  output(value: string, name: string, dims: readonly Dim[], dtype: OnnxDType = 'float'): string {
    if (value !== name) this.node('Identity', [value], {}, [name]);
    this.outputs.push(valueInfo(name, dims, dtype));
    return name;
  }

  constant(prefix: string, values: Float32Array | number[], dims: readonly number[]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`ONNX graph ${this.name}: constant ${prefix} has ${data.length} values for dims [${dims.join(', ')}] (${size})`);
    const name = this.claim(this.fresh(prefix));
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DTYPE.float, rawData: rawBytes(data) });
    return name;
  }

  /** An int64 constant (shapes, axes, indices). */
  ints(prefix: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.claim(this.fresh(prefix));
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DTYPE.int64, rawData: rawBytes(BigInt64Array.from(values.map((v) => BigInt(v)))) });
    return name;
  }

  /** Adds a node and returns its output names (fresh ones unless given). */
  nodeN(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue>, outputs: number | readonly string[]): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.claim(this.fresh(opType.toLowerCase()))) : outputs.map((o) => this.claim(o));
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`,
      opType,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Adds a single-output node and returns its output name. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs?: readonly string[]): string {
    return this.nodeN(opType, inputs, attrs, outputs ?? 1)[0];
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The model file's bytes; metadata values are strings (JSON for structured ones). */
  toBytes(options: { metadata?: Record<string, string>; doc?: string; producerVersion?: string } = {}): Uint8Array {
    if (this.outputs.length === 0) throw new Error(`ONNX graph ${this.name}: no outputs declared`);
    return encodeModel({
      irVersion: ONNX_IR_VERSION,
      producerName: 'resad',
      producerVersion: options.producerVersion ?? '',
      docString: options.doc ?? '',
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
  }
}
