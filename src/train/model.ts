/**
 * The model: a random-forest regressor (ml-random-forest) on log(time), from
 * plan features and node-type indicators. Trained as a few sub-forests of
 * independent bootstrap trees — the same estimator as one forest of all the
 * trees — so training can show progress; predictions average them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { RandomForestRegression } from 'ml-random-forest';
import type { Sample, Target } from './samples.js';
import { ConfigError } from '../util/errors.js';

export interface ModelJson {
  format: 'pgscout-model-1';
  target: Target;
  nodeTypes: string[];
  numericFeatures: readonly string[];
  baseline: { a: number; b: number };
  testTemplates: string[];
  forests: unknown[];
}

export interface TrainOptions { trees: number; seed: number; onProgress?: (done: number, total: number) => void }

const TREES_PER_FOREST = 10;

/** A template's side of the split: a hash of its fingerprint, so it is stable across runs and machines. */
export function isTestTemplate(template: string, seed: number, testFraction: number): boolean {
  const h = createHash('sha1').update(`${seed}:${template}`).digest();
  return h.readUInt32BE(0) / 2 ** 32 < testFraction;
}

export function featureVector(s: Sample, target: Target, nodeTypes: readonly string[]): number[] {
  // Quantized to steps of ×1.28: ml-cart tries every distinct value as a split, so
  // few levels make a tree ~50× faster and cost nothing a plan-time model can use.
  const numeric = s.numeric.map((v) => Math.round(4 * Math.log1p(Math.max(0, v))) / 4);
  const types = target === 'operator'
    ? nodeTypes.map((t) => (t === s.nodeType ? 1 : 0))
    : nodeTypes.map((t) => s.typeCounts[t] ?? 0);
  return [...numeric, ...types];
}

export class PlanModel {
  private constructor(readonly json: ModelJson, private readonly forests: RandomForestRegression[]) {}

  static train(samples: readonly Sample[], target: Target, base: Omit<ModelJson, 'forests' | 'format' | 'target' | 'nodeTypes'>, opts: TrainOptions): PlanModel {
    const nodeTypes = [...new Set(samples.flatMap((s) => (target === 'operator' ? [s.nodeType] : Object.keys(s.typeCounts))))].sort();
    const x = samples.map((s) => featureVector(s, target, nodeTypes));
    const y = samples.map((s) => Math.log(Math.max(s.actualNs, 1000)));
    const chunks = Math.max(1, Math.round(opts.trees / TREES_PER_FOREST));
    const forests: RandomForestRegression[] = [];
    for (let i = 0; i < chunks; i++) {
      const rf = new RandomForestRegression({
        nEstimators: TREES_PER_FOREST, maxFeatures: 0.7, replacement: true, seed: opts.seed * 1000 + i,
        treeOptions: { maxDepth: 10, minNumSamples: 10 }, useSampleBagging: true, noOOB: true,
      });
      rf.train(x, y);
      forests.push(rf);
      opts.onProgress?.(i + 1, chunks);
    }
    return new PlanModel({ format: 'pgscout-model-1', target, nodeTypes, ...base, forests: [] }, forests);
  }

  static load(json: ModelJson): PlanModel {
    if (json.format !== 'pgscout-model-1') throw new Error(`not a pgscout model (format ${String(json.format)})`);
    return new PlanModel(json, json.forests.map((f) => RandomForestRegression.load(f as never)));
  }

  get target(): Target {
    return this.json.target;
  }

  /** Predicted ns per sample. */
  predict(samples: readonly Sample[]): number[] {
    if (samples.length === 0) return [];
    const x = samples.map((s) => featureVector(s, this.json.target, this.json.nodeTypes));
    const sums = new Array<number>(x.length).fill(0);
    for (const rf of this.forests) rf.predict(x).forEach((v: number, i: number) => { sums[i]! += v; });
    return sums.map((v) => Math.exp(v / this.forests.length));
  }

  /** The baseline: PostgreSQL's cost scaled to time (floored at 1 µs: a fit may go negative at zero cost). */
  baseline(samples: readonly Sample[]): number[] {
    const { a, b } = this.json.baseline;
    return samples.map((s) => Math.max(1000, a * s.cost + b));
  }

  toJSON(): ModelJson {
    return { ...this.json, forests: this.forests.map((f) => f.toJSON()) };
  }
}

/** A model `pgscout train` saved; ConfigError (with `remedy` appended) when the file is not one. */
export function readModelFile(file: string, remedy = ''): PlanModel {
  try {
    return PlanModel.load(JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJson);
  } catch (err) {
    throw new ConfigError(`cannot read the model ${file}: ${(err as Error).message}${remedy}`);
  }
}
