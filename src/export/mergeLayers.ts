/** Merge layers: Add, Multiply, Average, Maximum, Minimum, Concatenate. */
import { type ConvertArgs, type LayerConverter } from './converter.ts';
import { OnnxExportError } from './errors.ts';
import { attr } from './onnxGraph.ts';
import { internalAxis } from './value.ts';

function sameRank(a: ConvertArgs): void {
  if (a.inputs.length < 2) throw new OnnxExportError(`expected at least two inputs, got ${a.inputs.length}`);
  const r = a.inputs[0]!.shape.length;
  if (a.inputs.some((v) => v.shape.length !== r)) {
    throw new OnnxExportError(`inputs of different ranks (${a.inputs.map((v) => v.shape.length).join(', ')}) are not supported`);
  }
}

/** A variadic ONNX op (Sum, Mean, Max, Min) or a chain of binary Mul. */
function elementwise(op: 'Sum' | 'Mul' | 'Mean' | 'Max' | 'Min'): LayerConverter {
  return (a) => {
    sameRank(a);
    const names = a.inputs.map((v) => v.name);
    let y: string;
    if (op === 'Mul') {
      y = names.slice(1).reduce((acc, n, i) => a.g.op('Mul', [acc, n], i === names.length - 2 ? a.base : `${a.base}/${i}`), names[0]!);
    } else if (op === 'Sum' && names.length === 2) {
      y = a.g.op('Add', names, a.base); // the common residual case: a plain binary Add
    } else {
      y = a.g.op(op, names, a.base);
    }
    // Inputs share one layout (onnx.ts converts mixed ones); the output keeps it.
    return [{ name: y, shape: a.outputShapes[0]!, ...(a.inputs[0]!.nhwc && { nhwc: true }) }];
  };
}

export const add = elementwise('Sum');
export const multiply = elementwise('Mul');
export const average = elementwise('Mean');
export const maximum = elementwise('Max');
export const minimum = elementwise('Min');

export const concatenate: LayerConverter = (a) => {
  sameRank(a);
  const axis = internalAxis(Number(a.config.axis ?? -1), a.inputs[0]!.shape.length);
  return [{ name: a.g.op('Concat', a.inputs.map((v) => v.name), a.base, { axis: attr.int(axis) }), shape: a.outputShapes[0]! }];
};
