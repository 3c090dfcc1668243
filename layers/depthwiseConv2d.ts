/**
 * tfjs 4.22's DepthwiseConv2D with its serialization bug fixed.
 *
 * Stock `DepthwiseConv2D.getConfig()` writes the depthwise REGULARIZER into `depthwiseConstraint`;
 * reloading such a model turns the L2 regulariser into a "constraint" that maps every kernel to a
 * scalar, and loading fails with "shape of the new value () and previous value (…) must match".
 * This subclass (same class name, registered in place of the stock one, so the model.json stays the
 * standard format) writes the real constraint, and on load drops a regulariser mis-saved as a
 * constraint by stock tfjs. Use `depthwiseConv2d()` below instead of `tf.layers.depthwiseConv2d()`.
 */
import * as tf from '@tensorflow/tfjs';

type DepthwiseArgs = Parameters<typeof tf.layers.depthwiseConv2d>[0];
type Serial = { getClassName(): string; getConfig(): tf.serialization.ConfigDict };

const stock = tf.serialization.SerializationMap.getMap().classNameMap['DepthwiseConv2D'];
if (!stock) throw new Error('tfjs has no DepthwiseConv2D class registered');
const StockDepthwiseConv2D = stock[0] as unknown as new (args: DepthwiseArgs) => ReturnType<typeof tf.layers.depthwiseConv2d>;

const REGULARIZER_CLASSES = new Set(['L1L2', 'L1', 'L2', 'l1_l2', 'l1', 'l2']);

function className(x: unknown): string | undefined {
  if (x == null || typeof x !== 'object') return undefined;
  const o = x as { className?: unknown; getClassName?: () => string };
  if (typeof o.getClassName === 'function') return o.getClassName();
  return typeof o.className === 'string' ? o.className : undefined;
}

export class DepthwiseConv2D extends StockDepthwiseConv2D {
  static className = 'DepthwiseConv2D';

  constructor(args: DepthwiseArgs) {
    const c = className(args.depthwiseConstraint);
    super(c !== undefined && REGULARIZER_CLASSES.has(c) ? { ...args, depthwiseConstraint: undefined } : args);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config = super.getConfig();
    const constraint = (this as unknown as { depthwiseConstraint?: Serial | null }).depthwiseConstraint;
    config.depthwiseConstraint = constraint ? { className: constraint.getClassName(), config: constraint.getConfig() } : null;
    return config;
  }
}
tf.serialization.registerClass(DepthwiseConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

export function depthwiseConv2d(args: DepthwiseArgs): DepthwiseConv2D {
  return new DepthwiseConv2D(args);
}
