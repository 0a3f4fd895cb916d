#!/usr/bin/env python3
"""Train a plan-time model on a pgscout dataset with pandas + xgboost.

The same samples, split and figures as `pgscout train`: plan features only
(what the planner knew before running), the label is the node's exclusive time
(operator target) or the statement's executor time (statement target), the
train/test split is by query template (fingerprint) with the same hash, and the
held-out figures (median/p90 q-error, MAE, R^2) are given for the model and for
PostgreSQL's cost scaled to time by least squares on the training split.

    python3 examples/train.py <dataset dir> [--target operator|statement] [--json]

Reads the Parquet files with pyarrow where it is installed; otherwise (Debian
has pandas and xgboost but no pyarrow) through `pgscout export <dir> --table
plan_nodes`, a typed CSV, which it runs itself when the export is missing or
older than the dataset.
"""
import argparse
import glob
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd

FLOOR_NS = 1000.0
COLUMNS = ['fingerprint', 'node_type', 'statement_id', 'plan_node_id', 'parent_node_id', 'depth', 'is_subplan',
           'est_startup_cost', 'est_total_cost', 'est_rows', 'est_width', 'workers', 'timed', 'loops', 'total_ns', 'excl_ns']
NUMERIC_FEATURES = {
    'operator': ['est_startup_cost', 'est_total_cost', 'est_rows', 'est_width', 'depth', 'is_subplan', 'workers',
                 'children', 'child_total_cost', 'child_rows', 'excl_cost'],
    'statement': ['est_startup_cost', 'est_total_cost', 'est_rows', 'est_width', 'nodes', 'max_depth', 'sum_est_rows', 'workers'],
}
# DuckDB's types (in the export's .types.json) as pandas dtypes; nullable integers stay nullable.
PANDAS_TYPES = {'BIGINT': 'Int64', 'INTEGER': 'Int64', 'SMALLINT': 'Int64', 'UBIGINT': 'UInt64', 'UINTEGER': 'Int64',
                'DOUBLE': 'float64', 'FLOAT': 'float64', 'VARCHAR': 'string', 'BOOLEAN': 'boolean'}


def fail(message):
    print(f'train.py: {message}', file=sys.stderr)
    sys.exit(2)


def parquet_files(out):
    return [f for f in glob.glob(os.path.join(out, 'plan_nodes', '**', '*.parquet'), recursive=True)
            if not os.path.basename(f).startswith('.')]


def pgscout_command():
    if os.environ.get('PGSCOUT'):
        return os.environ['PGSCOUT'].split()
    if shutil.which('pgscout'):
        return ['pgscout']
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bin', 'pgscout.js')
    if os.path.exists(here):
        return ['node', here]
    fail('no pyarrow and no pgscout to export the dataset: install pyarrow, or set PGSCOUT to the pgscout command')


def read_export(csv):
    if not os.path.exists(f'{csv}.types.json'):
        fail(f'{csv}.types.json is missing: give a CSV written by pgscout export <dir> --table plan_nodes')
    with open(f'{csv}.types.json') as f:
        types = json.load(f)
    missing = [c for c in COLUMNS if c not in types]
    if missing:
        fail(f'{csv} lacks the columns {missing}: export the plan_nodes table (pgscout export <dir> --table plan_nodes)')
    dtypes = {c: PANDAS_TYPES.get(types[c], 'string') for c in COLUMNS}
    frame = pd.read_csv(csv, usecols=COLUMNS, dtype={c: t for c, t in dtypes.items() if t != 'boolean'})
    for c in (c for c, t in dtypes.items() if t == 'boolean'):
        frame[c] = frame[c].map({True: True, False: False, 'true': True, 'false': False}).astype('boolean')
    return frame


def load_plan_nodes(out, csv=None):
    if csv:
        return read_export(csv)
    files = parquet_files(out)
    if not files:
        fail(f'{out} has no plan_nodes table: collect with --level operator (--setup-instrumentation) first')
    try:
        import pyarrow  # noqa: F401  (pandas reads Parquet through it)
        return pd.concat([pd.read_parquet(f, columns=COLUMNS) for f in files], ignore_index=True)
    except ImportError:
        pass
    csv = os.path.join(out, '_export', 'plan_nodes.csv')
    if not os.path.exists(csv) or os.path.getmtime(csv) < max(os.path.getmtime(f) for f in files):
        r = subprocess.run([*pgscout_command(), 'export', out, '--table', 'plan_nodes', '--to', csv], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f'pgscout export failed: {r.stderr.strip()}')
    return read_export(csv)


def operator_samples(n):
    kids = (n[n.parent_node_id.notna() & ~n.is_subplan]
            .groupby(['statement_id', 'parent_node_id'])
            .agg(children=('plan_node_id', 'size'), child_total_cost=('est_total_cost', 'sum'), child_rows=('est_rows', 'sum'))
            .reset_index().rename(columns={'parent_node_id': 'plan_node_id'}))
    s = n.merge(kids, on=['statement_id', 'plan_node_id'], how='left')
    s[['children', 'child_total_cost', 'child_rows']] = s[['children', 'child_total_cost', 'child_rows']].fillna(0)
    s['excl_cost'] = (s.est_total_cost - s.child_total_cost).clip(lower=0)
    s = s[s.timed & s.excl_ns.notna() & (s.loops > 0)].copy()
    s['cost'] = s.excl_cost
    s['actual'] = s.excl_ns.astype('float64')
    return s


def statement_samples(n):
    agg = n.groupby('statement_id').agg(nodes=('plan_node_id', 'size'), max_depth=('depth', 'max'),
                                        sum_est_rows=('est_rows', 'sum'), workers_all=('workers', 'sum')).reset_index()
    types = pd.crosstab(n.statement_id, n.node_type).add_prefix('type:').reset_index()
    roots = n[n.parent_node_id.isna() & ~n.is_subplan & n.timed & n.total_ns.notna() & (n.loops > 0)]
    s = roots.drop(columns=['workers']).merge(agg, on='statement_id').merge(types, on='statement_id')
    s = s.rename(columns={'workers_all': 'workers'})
    s['cost'] = s.est_total_cost
    s['actual'] = s.total_ns.astype('float64')
    return s


def is_test_template(template, seed, fraction):
    digest = hashlib.sha1(f'{seed}:{template}'.encode()).digest()
    return int.from_bytes(digest[:4], 'big') / 2 ** 32 < fraction


def features(s, target, node_types):
    x = np.log1p(s[NUMERIC_FEATURES[target]].astype('float64').clip(lower=0).to_numpy())
    if target == 'operator':
        kinds = np.stack([(s.node_type == t).to_numpy(dtype='float64') for t in node_types], axis=1)
    else:
        kinds = np.stack([s[f'type:{t}'].to_numpy(dtype='float64') if f'type:{t}' in s else np.zeros(len(s)) for t in node_types], axis=1)
    return np.hstack([x, kinds])


def figures(pred, actual):
    pred, actual = np.asarray(pred, dtype='float64'), np.asarray(actual, dtype='float64')
    p, a = np.maximum(pred, FLOOR_NS), np.maximum(actual, FLOOR_NS)
    q = np.sort(np.maximum(p / a, a / p))

    def quantile(v):  # the same rank as pgscout: the ceil(v·n)-th smallest
        return float(q[min(len(q) - 1, max(0, math.ceil(v * len(q)) - 1))]) if len(q) else float('nan')
    ss_tot = float(((actual - actual.mean()) ** 2).sum()) if len(actual) else 0.0
    r2 = 1 - float(((actual - pred) ** 2).sum()) / ss_tot if ss_tot > 0 else float('nan')
    mae = float(np.abs(actual - pred).mean()) / 1e6 if len(actual) else 0.0
    clean = lambda v, d=3: None if math.isnan(v) else round(v, d)  # noqa: E731  (JSON has no NaN)
    return {'n': int(len(actual)), 'median_qerror': clean(quantile(0.5)), 'p90_qerror': clean(quantile(0.9)),
            'mae_ms': clean(mae, 4), 'r2': clean(r2)}


def fit_cost_to_time(cost, actual):
    mx, my = cost.mean(), actual.mean()
    sxx = float(((cost - mx) ** 2).sum())
    a = float(((cost - mx) * (actual - my)).sum()) / sxx if sxx > 0 else 0.0
    return a, float(my - a * mx)


def train(out, target, seed, fraction, csv=None):
    from xgboost import XGBRegressor
    n = load_plan_nodes(out, csv)
    n = n[n.fingerprint.notna()].copy()
    s = operator_samples(n) if target == 'operator' else statement_samples(n)
    templates = sorted(s.fingerprint.unique())
    test_templates = {t for t in templates if is_test_template(t, seed, fraction)}
    if not test_templates or len(test_templates) == len(templates):
        fail(f'{out} has {len(templates)} query templates with timed {target} samples: too few to hold some out')
    held = s.fingerprint.isin(test_templates)
    tr, te = s[~held], s[held]
    node_types = sorted(tr.node_type.unique()) if target == 'operator' else sorted(c[5:] for c in s.columns if c.startswith('type:'))
    model = XGBRegressor(n_estimators=300, max_depth=6, learning_rate=0.05, subsample=0.8, colsample_bytree=0.8,
                         random_state=seed, n_jobs=2)
    model.fit(features(tr, target, node_types), np.log(np.maximum(tr.actual.to_numpy(), FLOOR_NS)))
    predicted = np.exp(model.predict(features(te, target, node_types)))
    a, b = fit_cost_to_time(tr.cost.to_numpy(dtype='float64'), tr.actual.to_numpy())
    base = np.maximum(FLOOR_NS, a * te.cost.to_numpy(dtype='float64') + b)
    actual = te.actual.to_numpy()
    by_type = {}
    if target == 'operator':
        kinds = te.node_type.to_numpy()
        for t in sorted(set(kinds), key=lambda t: (-int((kinds == t).sum()), list(kinds).index(t))):
            m = kinds == t
            by_type[t] = {'n': int(m.sum()), 'model_median_qerror': figures(predicted[m], actual[m])['median_qerror'],
                          'baseline_median_qerror': figures(base[m], actual[m])['median_qerror']}
    return {'target': target, 'reader': 'export' if csv or 'pyarrow' not in sys.modules else 'pyarrow',
            'train': {'samples': int(len(tr)), 'templates': len(templates) - len(test_templates)},
            'test': {'samples': int(len(te)), 'templates': len(test_templates)},
            'model': figures(predicted, actual), 'baseline': figures(base, actual), 'by_node_type': by_type}


def main():
    p = argparse.ArgumentParser(description='pandas + xgboost on a pgscout dataset, split by query template')
    p.add_argument('dataset')
    p.add_argument('--target', choices=['operator', 'statement'], default='operator')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--test-fraction', type=float, default=0.3)
    p.add_argument('--csv', help='a plan_nodes export (pgscout export <dir> --table plan_nodes) instead of the Parquet files')
    p.add_argument('--json', action='store_true', help='print the held-out figures as one JSON object')
    args = p.parse_args()
    if not 0 < args.test_fraction < 1:
        fail(f'--test-fraction {args.test_fraction} must be in (0, 1)')
    r = train(args.dataset, args.target, args.seed, args.test_fraction, args.csv)
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['target']} target ({r['reader']}): trained on {r['train']['samples']} samples of {r['train']['templates']} templates; "
          f"held out {r['test']['samples']} samples of {r['test']['templates']} templates never seen")
    print('  held-out                  median q     p90 q     MAE ms      R²')
    for name, f in (('model (xgboost)', r['model']), ('baseline (cost × a + b)', r['baseline'])):
        print(f"  {name:<24} {f['median_qerror']:>8} {f['p90_qerror']:>9} {f['mae_ms']:>10} {str(f['r2']):>7}")
    if r['by_node_type']:
        print('  by node type               n    model q  baseline q')
    for t, v in r['by_node_type'].items():
        print(f"  {t:<22} {v['n']:>5} {v['model_median_qerror']:>10} {v['baseline_median_qerror']:>10}")


if __name__ == '__main__':
    main()
