/**
 * `pgscout train <out> [--target operator|statement]`: a model of plan-node
 * exclusive time (or statement executor time) from plan features, judged on
 * query templates it never saw, beside PostgreSQL's own cost model scaled to
 * time. `pgscout predict <out> --model <file>` scores a dataset with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../util/errors.js';
import { figures, fitCostToTime, groupIndices, type Figures } from '../train/evaluate.js';
import { isTestTemplate, PlanModel, readModelFile } from '../train/model.js';
import { loadSamples, NUMERIC_FEATURES, type Sample, type Target } from '../train/samples.js';
import { Rng } from '../workload/rng.js';

export interface TrainReport {
  target: Target;
  train: { samples: number; templates: number; available: number };
  test: { samples: number; templates: number };
  model: Figures;
  baseline: Figures;
  by_node_type: Record<string, { n: number; model_median_qerror: number; baseline_median_qerror: number }>;
  model_file: string;
}

function parseTarget(v: string | undefined): Target {
  if (v === undefined || v === 'operator' || v === 'statement') return v ?? 'operator';
  throw new ConfigError(`--target '${v}' is not a target: use operator or statement`);
}

function progressBar(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((width * done) / total);
  process.stderr.write(`\rtraining [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} sub-forests${done === total ? '\n' : ''}`);
}

function byNodeType(test: readonly Sample[], model: number[], base: number[]): TrainReport['by_node_type'] {
  return Object.fromEntries(groupIndices(test, (s) => s.nodeType).map(([type, idx]) => {
    const actual = idx.map((i) => test[i]!.actualNs);
    return [type, {
      n: idx.length,
      model_median_qerror: figures(idx.map((i) => model[i]!), actual).median_qerror,
      baseline_median_qerror: figures(idx.map((i) => base[i]!), actual).median_qerror,
    }];
  }));
}

/**
 * At most `max` training samples, the same share of each template: a frequent
 * point query must not drown the rare analytical shapes, and ml-random-forest's
 * CART grows as n² per tree (10 trees: 5.5 s on 1 000 rows, 19 s on 2 000).
 */
function capPerTemplate(samples: Sample[], max: number, seed: number): Sample[] {
  if (samples.length <= max) return samples;
  const byTemplate = new Map<string, Sample[]>();
  for (const s of samples) byTemplate.set(s.template, [...(byTemplate.get(s.template) ?? []), s]);
  const perTemplate = Math.max(1, Math.floor(max / byTemplate.size));
  const rng = new Rng(seed);
  return [...byTemplate.values()].flatMap((group) => {
    if (group.length <= perTemplate) return group;
    for (let i = group.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [group[i], group[j]] = [group[j]!, group[i]!];
    }
    return group.slice(0, perTemplate);
  });
}

export async function trainOn(outDir: string, target: Target, opts: { trees: number; seed: number; testFraction: number; modelFile: string; progress: boolean; maxSamples: number }): Promise<TrainReport> {
  const samples = await loadSamples(outDir, target);
  const templates = [...new Set(samples.map((s) => s.template))];
  const testSet = new Set(templates.filter((t) => isTestTemplate(t, opts.seed, opts.testFraction)));
  if (testSet.size === 0 || testSet.size === templates.length) {
    throw new ConfigError(`${outDir} has ${templates.length} query templates with timed ${target} samples: too few to hold some out (run a workload with more shapes, e.g. pgscout workload analytical)`);
  }
  const trainSplit = samples.filter((s) => !testSet.has(s.template));
  const train = capPerTemplate(trainSplit, opts.maxSamples, opts.seed);
  const test = samples.filter((s) => testSet.has(s.template));
  // The baseline is fitted on the whole training split (the cap is only for CART's cost), so
  // examples/train.py, which fits the same line, reports the same baseline figures.
  const fit = fitCostToTime(trainSplit.map((s) => s.cost), trainSplit.map((s) => s.actualNs));
  const model = PlanModel.train(train, target, { numericFeatures: NUMERIC_FEATURES[target], baseline: fit, testTemplates: [...testSet].sort() },
    { trees: opts.trees, seed: opts.seed, onProgress: opts.progress ? progressBar : undefined });
  const predicted = model.predict(test);
  const base = model.baseline(test);
  const actual = test.map((s) => s.actualNs);
  fs.mkdirSync(path.dirname(opts.modelFile), { recursive: true });
  fs.writeFileSync(opts.modelFile, JSON.stringify(model.toJSON()));
  return {
    target,
    train: { samples: train.length, templates: templates.length - testSet.size, available: samples.length - test.length },
    test: { samples: test.length, templates: testSet.size },
    model: figures(predicted, actual),
    baseline: figures(base, actual),
    by_node_type: target === 'operator' ? byNodeType(test, predicted, base) : {},
    model_file: opts.modelFile,
  };
}

function formatReport(r: TrainReport): string {
  const row = (name: string, f: Figures) => `  ${name.padEnd(26)} ${f.median_qerror.toFixed(2).padStart(8)} ${f.p90_qerror.toFixed(2).padStart(9)} ${f.mae_ms.toFixed(3).padStart(10)} ${f.r2.toFixed(3).padStart(7)}`;
  return [
    `${r.target} target: trained on ${r.train.samples} samples of ${r.train.templates} templates; held out ${r.test.samples} samples of ${r.test.templates} templates never seen`,
    '  held-out                   median q     p90 q     MAE ms      R²',
    row('model (random forest)', r.model),
    row('baseline (cost × a + b)', r.baseline),
    ...(Object.keys(r.by_node_type).length ? ['  by node type               n  model median q  baseline median q',
      ...Object.entries(r.by_node_type).map(([t, v]) => `  ${t.padEnd(22)} ${String(v.n).padStart(5)} ${v.model_median_qerror.toFixed(2).padStart(15)} ${v.baseline_median_qerror.toFixed(2).padStart(18)}`)] : []),
    `  model saved to ${r.model_file}`,
  ].join('\n');
}

export async function runTrain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: {
    target: { type: 'string' }, json: { type: 'boolean' }, model: { type: 'string' }, trees: { type: 'string' }, seed: { type: 'string' },
    'test-fraction': { type: 'string' }, 'max-samples': { type: 'string' },
  }, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new ConfigError('usage: pgscout train <dataset dir> [--target operator|statement] [--model file] [--trees 20] [--max-samples 2000] [--json]');
  const outDir = positionals[0]!;
  const target = parseTarget(values.target);
  const trees = Number(values.trees ?? 20);
  const testFraction = Number(values['test-fraction'] ?? 0.3);
  if (!Number.isInteger(trees) || trees < 1) throw new ConfigError(`--trees '${values.trees}' must be a positive integer`);
  if (!(testFraction > 0 && testFraction < 1)) throw new ConfigError(`--test-fraction '${values['test-fraction']}' must be in (0, 1)`);
  const report = await trainOn(outDir, target, {
    trees, seed: Number(values.seed ?? 1), testFraction, progress: !values.json, maxSamples: Number(values['max-samples'] ?? 2000),
    modelFile: values.model ?? path.join(outDir, '_models', `${target}.json`),
  });
  process.stdout.write(values.json
    ? `${JSON.stringify({ model: report.model, baseline: report.baseline, by_node_type: report.by_node_type, train: report.train, test: report.test, target })}\n`
    : `${formatReport(report)}\n`);
  return 0;
}

export async function runPredict(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { model: { type: 'string' }, json: { type: 'boolean' } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1 || !values.model) throw new ConfigError('usage: pgscout predict <dataset dir> --model <file> [--json]');
  const model = readModelFile(values.model);
  const samples = await loadSamples(positionals[0]!, model.target);
  const predicted = model.predict(samples);
  const f = figures(predicted, samples.map((s) => s.actualNs));
  const file = path.join(positionals[0]!, '_models', `predictions-${model.target}.csv`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `key,template,node_type,actual_ns,predicted_ns\n${samples.map((s, i) => `${s.key},${s.template},${s.nodeType},${s.actualNs},${Math.round(predicted[i]!)}`).join('\n')}\n`);
  process.stdout.write(values.json ? `${JSON.stringify({ model: f, predictions: file })}\n`
    : `scored ${f.n} ${model.target} samples: median q-error ${f.median_qerror}, p90 ${f.p90_qerror}, MAE ${f.mae_ms} ms, R² ${f.r2}; predictions in ${file}\n`);
  return 0;
}
