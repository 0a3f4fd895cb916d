/**
 * The Python path of issue 11: examples/train.py (pandas + xgboost, Debian's
 * packages, no pyarrow) on a collected analytical workload, reading it through
 * `pgscout export`, with the same split and the same cost-model baseline as
 * `pgscout train`; and the report's predicted-vs-actual picture of the saved model.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { trainOn, type TrainReport } from '../../src/cli/train.js';
import { queryParquet, tableSource } from '../../src/dataset/read-back.js';
import { collectAnalytical } from '../helpers/analytical-dataset.js';
import { describeBpf } from '../helpers/bpf-env.js';
import { useCluster } from '../helpers/cluster-fixture.js';
import { runCli } from '../helpers/cli.js';

/** Debian's interpreter: python3-pandas, python3-xgboost and python3-sklearn (its sklearn API) are installed for it (scripts/bootstrap.sh). */
const PYTHON = process.env.PGSCOUT_PYTHON ?? '/usr/bin/python3';
const EXPORTED = (out: string) => path.join(out, '_csv', 'plan_nodes.csv');
const SCRIPT = new URL('../../examples/train.py', import.meta.url).pathname;

function trainPy(args: string[]) {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describeBpf('examples/train.py and the report picture on a collected analytical workload', () => {
  let report: TrainReport;
  const db = useCluster({
    outPrefix: 'pgscout-trainpy-',
    setup: async (cluster, out) => {
      await collectAnalytical(cluster.conninfo, out, { durationMs: 10_000, seed: 3 });
      report = await trainOn(out, 'operator', { trees: 10, seed: 1, testFraction: 0.3, modelFile: path.join(out, '_models', 'operator.json'), progress: false, maxSamples: 600 });
    },
  });

  let hasPyarrow = false;
  it('Debian\'s pandas and xgboost are there (scripts/bootstrap.sh installs them)', () => {
    const r = spawnSync(PYTHON, ['-c', 'import pandas, xgboost, importlib.util as u; print(u.find_spec("pyarrow") is not None)'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    hasPyarrow = r.stdout.trim() === 'True';
  });

  it('pgscout export writes every plan_nodes row as CSV with its types and provenance', async () => {
    const file = EXPORTED(db.out);
    const r = await runCli(['export', db.out, '--table', 'plan_nodes', '--to', file]);
    expect(r.code, r.stderr).toBe(0);
    const [n] = await queryParquet(`SELECT count(*) AS n FROM ${tableSource(db.out, 'plan_nodes')}`);
    const back = await queryParquet(`SELECT count(*) AS n, list(DISTINCT run_id ORDER BY run_id) AS runs, sum(excl_ns) AS excl FROM read_csv_auto('${file}')`);
    const [want] = await queryParquet(`SELECT sum(excl_ns) AS excl FROM ${tableSource(db.out, 'plan_nodes')}`);
    expect(back[0]!.n).toBe(n!.n);
    expect(back[0]!.excl).toBe(want!.excl);
    const types = JSON.parse(fs.readFileSync(`${file}.types.json`, 'utf8'));
    expect(types).toMatchObject({ statement_id: 'BIGINT', est_total_cost: 'DOUBLE', is_subplan: 'BOOLEAN', node_type: 'VARCHAR' });
    const provenance = JSON.parse(fs.readFileSync(`${file}.provenance.json`, 'utf8'));
    expect(provenance.map((p: { run_id: string }) => p.run_id)).toEqual(back[0]!.runs);
    expect(provenance[0].postgres_version).toMatch(/^15\./);
  });

  it('trains with xgboost on the same split and reports the same cost-model baseline as pgscout train', () => {
    expect(fs.existsSync(path.join(db.out, '_export'))).toBe(false); // without pyarrow, it exports by itself
    const r = trainPy([db.out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const py = JSON.parse(r.stdout);
    expect(py.reader).toBe(hasPyarrow ? 'pyarrow' : 'export');
    expect(py.test).toEqual({ samples: report.test.samples, templates: report.test.templates });
    expect(py.train.samples).toBe(report.train.available);
    expect(py.baseline).toEqual(report.baseline);
    expect(py.model.n).toBe(report.test.samples);
    expect(py.model.median_qerror).toBeGreaterThanOrEqual(1);
    expect(py.model.p90_qerror).toBeGreaterThanOrEqual(py.model.median_qerror);
    expect(Object.fromEntries(Object.entries(py.by_node_type).map(([t, v]) => [t, (v as { n: number }).n])))
      .toEqual(Object.fromEntries(Object.entries(report.by_node_type).map(([t, v]) => [t, v.n])));
    const viaCsv = trainPy([db.out, '--json', '--csv', EXPORTED(db.out)]);
    expect(viaCsv.code, viaCsv.stderr).toBe(0);
    expect(JSON.parse(viaCsv.stdout)).toMatchObject({ reader: 'export', baseline: report.baseline, test: py.test });
    const text = trainPy([db.out, '--target', 'statement']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^statement target \(export\): trained on \d+ samples/);
  });

  it('says in one line what is wrong with a dataset without plan nodes', () => {
    const empty = fs.mkdtempSync(path.join(path.dirname(db.out), 'pgscout-empty-'));
    const r = trainPy([empty]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no plan_nodes table/);
  });

  it('the report draws the saved model against the cost model on the held-out templates, per node type', async () => {
    const file = path.join(db.out, 'report.html');
    const r = await runCli(['report', db.out, '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(file, 'utf8');
    const figure = html.match(/<figure class="chart" data-chart="model-operator"[\s\S]*?<\/figure>/)?.[0] ?? '';
    const panels = [...figure.matchAll(/<g class="panel" data-panel="([^"]+)" data-n="(\d+)" data-points="(\d+)" data-model-median-qerror="([\d.]+)" data-baseline-median-qerror="([\d.]+)"/g)];
    const top = Object.entries(report.by_node_type).slice(0, 6);
    expect(panels.map((p) => [p[1], Number(p[2])])).toEqual(top.map(([t, v]) => [t.replace(/&/g, '&amp;'), v.n]));
    for (const [i, p] of panels.entries()) {
      expect(Number(p[4])).toBe(top[i]![1].model_median_qerror);
      expect(Number(p[5])).toBe(top[i]![1].baseline_median_qerror);
    }
    const drawn = (key: string) => [...figure.matchAll(new RegExp(`data-segment="${key}" data-actual="(\\d+)" data-predicted="(\\d+)"`, 'g'))];
    const points = panels.reduce((a, p) => a + Number(p[3]), 0);
    expect(drawn('model')).toHaveLength(points);
    expect(drawn('baseline')).toHaveLength(points);
    expect(points).toBeGreaterThan(0);
  });
});
