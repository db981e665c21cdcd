// A small ONNX graph builder over onnx-proto: unique tensor and node names, typed initializers, attribute helpers.
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import type { Precision } from 'onnx-denoiser-common';
import { toFloat16 } from './float16.js';

const { onnx } = onnxProto;

/** ONNX element types used here. */
export const DataType = Object.freeze({
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  FLOAT16: onnx.TensorProto.DataType.FLOAT16,
  INT64: onnx.TensorProto.DataType.INT64,
  INT8: onnx.TensorProto.DataType.INT8,
  UINT8: onnx.TensorProto.DataType.UINT8,
  INT32: onnx.TensorProto.DataType.INT32,
});

/** The ONNX element type of a precision. */
export function dataTypeOf(precision: Precision): number {
  return precision === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
}

/**
 * The opsets the emitter writes, each with the IR version of the ONNX release that introduced it (ONNX 1.13: opset 18,
 * IR 8; 1.14: 19, IR 9; 1.15: 20, IR 9; 1.16: 21, IR 10). Every op used keeps the same inputs and attributes across
 * them (Pad takes its pads as an input since opset 11; opset 18 only adds an optional `axes` input).
 */
export const OPSET_IR_VERSIONS: Readonly<Record<number, number>> = Object.freeze({ 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 });

/** The default opset (IR version 8). */
export const DEFAULT_OPSET = 17;

const A = onnx.AttributeProto.AttributeType;

/** Attribute helpers: each returns one AttributeProto. */
export const attr = Object.freeze({
  int: (name: string, value: number): Onnx.IAttributeProto => ({ name, type: A.INT, i: value }),
  ints: (name: string, values: readonly number[]): Onnx.IAttributeProto => ({ name, type: A.INTS, ints: [...values] }),
  float: (name: string, value: number): Onnx.IAttributeProto => ({ name, type: A.FLOAT, f: value }),
  string: (name: string, value: string): Onnx.IAttributeProto => ({ name, type: A.STRING, s: new TextEncoder().encode(value) }),
});

/** Little-endian bytes of float32 values. */
function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

/** Little-endian bytes of float16 bit patterns. */
function uint16Bytes(values: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, values[i]!, true);
  return bytes;
}

/** Builds one GraphProto: nodes in the order added (callers add producers first), names checked unique. */
export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  readonly #tensors = new Set<string>();
  readonly #nodeNames = new Set<string>();

  /** Claims a tensor name (graph inputs and outputs, initializers, node outputs); a second claim is a bug. */
  claim(name: string): string {
    if (this.#tensors.has(name)) throw new Error(`ONNX emitter: tensor name "${name}" used twice`);
    this.#tensors.add(name);
    return name;
  }

  /** Adds a node named `name` reading `inputs` and writing the new tensors `outputs`; returns the first output. */
  node(opType: string, name: string, inputs: readonly string[], outputs: readonly string[], attribute: Onnx.IAttributeProto[] = [], docString?: string): string {
    if (this.#nodeNames.has(name)) throw new Error(`ONNX emitter: node name "${name}" used twice`);
    this.#nodeNames.add(name);
    for (const input of inputs) {
      if (input !== '' && !this.#tensors.has(input)) throw new Error(`ONNX emitter: node "${name}" reads "${input}" before it is produced`);
    }
    for (const output of outputs) this.claim(output);
    const node: Onnx.INodeProto = { opType, name, input: [...inputs], output: [...outputs], attribute };
    if (docString) node.docString = docString;
    this.nodes.push(node);
    return outputs[0]!;
  }

  /** Adds a float initializer stored in `precision` (float16 values are correctly rounded from float32). */
  floatInitializer(name: string, dims: readonly number[], values: ArrayLike<number>, precision: Precision, docString?: string): string {
    const tensor: Onnx.ITensorProto = {
      name: this.claim(name),
      dataType: dataTypeOf(precision),
      dims: [...dims],
      rawData: precision === 'float16' ? uint16Bytes(toFloat16(values)) : float32Bytes(values),
    };
    if (docString) tensor.docString = docString;
    this.initializers.push(tensor);
    return name;
  }

  /** Adds an int8, uint8 or int32 initializer from its typed array (little-endian bytes, as ONNX raw_data is). */
  integerInitializer(name: string, dims: readonly number[], values: Int8Array | Uint8Array | Int32Array, docString?: string): string {
    const dataType = values instanceof Int8Array ? DataType.INT8 : values instanceof Uint8Array ? DataType.UINT8 : DataType.INT32;
    const tensor: Onnx.ITensorProto = { name: this.claim(name), dataType, dims: [...dims], rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
    if (docString) tensor.docString = docString;
    this.initializers.push(tensor);
    return name;
  }

  /** Adds an int64 initializer (dims default to a 1-D vector; pass [] for a scalar). */
  int64Initializer(name: string, values: readonly number[], dims: readonly number[] = [values.length], docString?: string): string {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    const tensor: Onnx.ITensorProto = { name: this.claim(name), dataType: DataType.INT64, dims: [...dims], rawData: bytes };
    if (docString) tensor.docString = docString;
    this.initializers.push(tensor);
    return name;
  }
}

/** A fixed input shape: batch, height and width (the channels are the spec's). */
export interface StaticShape {
  batch: number;
  height: number;
  width: number;
}

/**
 * A graph input or output: [N, C, H, W] with N, H, W free (or fixed by `shape`), marked as an image (ONNX type
 * denotation).
 */
export function imageValueInfo(name: string, channels: number, elemType: number, docString: string, shape?: StaticShape): Onnx.IValueInfoProto {
  return {
    name,
    docString,
    type: {
      denotation: 'IMAGE',
      tensorType: {
        elemType,
        shape: {
          dim: [
            shape ? { dimValue: shape.batch, denotation: 'DATA_BATCH' } : { dimParam: 'N', denotation: 'DATA_BATCH' },
            { dimValue: channels, denotation: 'DATA_CHANNEL' },
            shape ? { dimValue: shape.height, denotation: 'DATA_FEATURE' } : { dimParam: 'H', denotation: 'DATA_FEATURE' },
            shape ? { dimValue: shape.width, denotation: 'DATA_FEATURE' } : { dimParam: 'W', denotation: 'DATA_FEATURE' },
          ],
        },
      },
    },
  };
}
