/**
 * The model's picture for the report: the model `pgscout train` saved in
 * `<out>/_models/<target>.json` scores the samples of the templates it held
 * out, beside the cost-model baseline, grouped by node type.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hasTable } from '../dataset/read-back.js';
import { figures, groupIndices } from '../train/evaluate.js';
import { readModelFile } from '../train/model.js';
import { loadSamples, type Sample, type Target } from '../train/samples.js';

/** Panels drawn per target, most frequent node types first. */
export const MODEL_PANELS = 6;
/** Points drawn per series of a panel (every n-th sample beyond that): a page of ~10k circles stays light. */
export const MODEL_POINTS = 300;

export interface ModelPoint { actualNs: number; modelNs: number; baselineNs: number }

export interface ModelPanel {
  /** The node type, or 'statement' for the statement target. */
  label: string;
  /** Held-out samples of this panel (all of them, not only those drawn). */
  n: number;
  modelMedianQ: number;
  baselineMedianQ: number;
  points: ModelPoint[];
}

export interface ModelPicture { target: Target; modelFile: string; testTemplates: number; panels: ModelPanel[] }

function everyNth<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const step = items.length / max;
  return Array.from({ length: max }, (_, i) => items[Math.floor(i * step)]!);
}

function panel(label: string, samples: Sample[], model: number[], base: number[]): ModelPanel {
  const actual = samples.map((s) => s.actualNs);
  const points = samples.map((s, i) => ({ actualNs: s.actualNs, modelNs: model[i]!, baselineNs: base[i]! }));
  return {
    label,
    n: samples.length,
    modelMedianQ: figures(model, actual).median_qerror,
    baselineMedianQ: figures(base, actual).median_qerror,
    points: everyNth(points, MODEL_POINTS),
  };
}

async function picture(outDir: string, file: string): Promise<ModelPicture | null> {
  if (!fs.existsSync(file)) return null; // not trained: the page says how
  const model = readModelFile(file, `; train it again (pgscout train ${outDir}) or remove it`);
  const held = new Set(model.json.testTemplates);
  const test = (await loadSamples(outDir, model.target)).filter((s) => held.has(s.template));
  const predicted = model.predict(test);
  const base = model.baseline(test);
  const panels = groupIndices(test, (s) => (model.target === 'operator' ? s.nodeType : 'statement')).slice(0, MODEL_PANELS)
    .map(([label, idx]) => panel(label, idx.map((i) => test[i]!), idx.map((i) => predicted[i]!), idx.map((i) => base[i]!)));
  return { target: model.target, modelFile: file, testTemplates: held.size, panels };
}

/** The saved models' pictures (operator first); [] when none was trained; null without plan_nodes. */
export async function loadModelPictures(outDir: string): Promise<ModelPicture[] | null> {
  if (!hasTable(outDir, 'plan_nodes')) return null;
  const found: ModelPicture[] = [];
  for (const target of ['operator', 'statement'] as const) {
    const p = await picture(outDir, path.join(outDir, '_models', `${target}.json`));
    if (p) found.push(p);
  }
  return found;
}
