/**
 * The chain a model user runs: the analytical workload collected at operator
 * level, `pgscout train` on it (split by template), the saved model scoring
 * the dataset with `pgscout predict`, `--json` figures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { trainOn, type TrainReport } from '../../src/cli/train.js';
import { loadSamples } from '../../src/train/samples.js';
import { collectAnalytical } from '../helpers/analytical-dataset.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';
import { runCli } from '../helpers/cli.js';

describeBpf('pgscout train / predict on a collected analytical workload', () => {
  let report: TrainReport;
  const db = useCluster({
    outPrefix: 'pgscout-train-',
    setup: async (cluster, out) => {
      await collectAnalytical(cluster.conninfo, out, { durationMs: 12_000, seed: 2 });
      report = await trainOn(out, 'operator', { trees: 10, seed: 1, testFraction: 0.3, modelFile: path.join(out, '_models', 'operator.json'), progress: false, maxSamples: 800 });
    },
  });

  it('holds out whole templates: no test template is in the training split', async () => {
    expect(report.test.templates).toBeGreaterThanOrEqual(1);
    expect(report.train.templates).toBeGreaterThanOrEqual(5);
    const model = JSON.parse(fs.readFileSync(report.model_file, 'utf8'));
    const samples = await loadSamples(db.out, 'operator');
    const test = new Set<string>(model.testTemplates);
    expect(samples.filter((s) => test.has(s.template)).length).toBe(report.test.samples);
    expect(samples.length).toBe(report.train.available + report.test.samples);
  });

  it('reports q-error, MAE and R² for the model and the cost-model baseline, per node type', () => {
    for (const f of [report.model, report.baseline]) {
      expect(f.n).toBe(report.test.samples);
      expect(f.median_qerror).toBeGreaterThanOrEqual(1);
      expect(f.p90_qerror).toBeGreaterThanOrEqual(f.median_qerror);
      expect(Number.isFinite(f.mae_ms)).toBe(true);
    }
    const counted = Object.values(report.by_node_type).reduce((a, v) => a + v.n, 0);
    expect(counted).toBe(report.test.samples);
  });

  it('the CLI prints one JSON object with --json, and predict scores the dataset with the saved model', async () => {
    const t = await runCli(['train', db.out, '--target', 'statement', '--trees', '10', '--max-samples', '800', '--json']);
    expect(t.code).toBe(0);
    const json = JSON.parse(t.stdout);
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['model', 'baseline', 'by_node_type']));
    expect(json.model.median_qerror).toBeGreaterThanOrEqual(1);
    const p = await runCli(['predict', db.out, '--model', report.model_file, '--json']);
    expect(p.code).toBe(0);
    const scored = JSON.parse(p.stdout);
    expect(scored.model.n).toBe(report.train.available + report.test.samples);
    const lines = fs.readFileSync(scored.predictions, 'utf8').trim().split('\n');
    expect(lines.length - 1).toBe(scored.model.n);
  });

  it('says in one line what is missing when a dataset has no plan nodes', async () => {
    const empty = fs.mkdtempSync(path.join(path.dirname(db.out), 'pgscout-empty-'));
    const r = await runCli(['train', empty]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no plan_nodes table/);
  });
});
