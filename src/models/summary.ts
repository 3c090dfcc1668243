/**
 * A layer table with parameter counts for any fdft model (`fdft summary`). Nested models are
 * expanded: FDFtNet's head always, its frozen backbone when asked (otherwise one row).
 */
import * as tf from '@tensorflow/tfjs';
import { FrozenBackbone } from '../../layers/frozenBackbone.ts';
import { type ParamCounts, paramCounts } from './fdftnet.ts';

export interface LayerRow {
  /** Nesting depth (0 = a layer of the model itself). */
  depth: number;
  name: string;
  type: string;
  outputShape: string;
  params: number;
  trainable: number;
}

function count(ws: tf.LayerVariable[]): number {
  return ws.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

function shapeOf(layer: tf.layers.Layer): string {
  try {
    const s = layer.outputShape;
    return JSON.stringify(s).replace(/null/g, 'N');
  } catch {
    return 'multiple';
  }
}

export function layerRows(model: tf.LayersModel, opts: { expandBackbone?: boolean } = {}, depth = 0): LayerRow[] {
  const rows: LayerRow[] = [];
  for (const layer of model.layers) {
    const inner = layer instanceof FrozenBackbone ? (opts.expandBackbone ? layer.backbone : undefined) : layer instanceof tf.LayersModel ? layer : undefined;
    rows.push({
      depth,
      name: layer.name,
      type: layer instanceof FrozenBackbone ? `FrozenBackbone(${layer.backbone.name})` : layer.getClassName(),
      outputShape: shapeOf(layer),
      params: count(layer.weights),
      trainable: count(layer.trainableWeights),
    });
    if (inner) rows.push(...layerRows(inner, opts, depth + 1).filter((r) => !(r.depth === depth + 1 && r.type === 'InputLayer')));
  }
  return rows;
}

/** What the non-trainable parameters are: a frozen backbone only where the model wraps one (FDFtNet, not a baseline). */
function frozenNote(rows: LayerRow[]): string {
  return rows.some((r) => r.type.startsWith('FrozenBackbone(')) ? 'frozen backbone + BN moving statistics' : 'BN moving statistics';
}

export function formatSummary(title: string, rows: LayerRow[], counts: ParamCounts): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const cells = rows.map((r) => [`${'  '.repeat(r.depth)}${r.name} (${r.type})`, r.outputShape, fmt(r.params), fmt(r.trainable)]);
  const head = ['Layer (type)', 'Output shape', 'Params', 'Trainable'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i >= 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [
    title,
    rule,
    line(head),
    rule,
    ...cells.map(line),
    rule,
    `Total params:     ${fmt(counts.total)}`,
    `Trainable params: ${fmt(counts.trainable)}`,
    `Frozen params:    ${fmt(counts.frozen)}${counts.frozen ? `  (${frozenNote(rows)})` : ''}`,
  ].join('\n');
}

export { paramCounts };
