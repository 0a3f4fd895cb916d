/** The config file: collect's flags as flat TOML keys, below PGSCOUT_* variables and flags. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLLECT_OPTIONS } from '../src/cli/collect.js';
import { collectConfig } from '../src/config.js';
import { readConfigFile } from '../src/config-file.js';
import { runCli } from './helpers/cli.js';

const KEYS = Object.keys(COLLECT_OPTIONS);

function file(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-conf-'));
  const p = path.join(dir, 'pgscout.toml');
  fs.writeFileSync(p, text);
  return p;
}

describe('readConfigFile', () => {
  it('reads strings, numbers, booleans and comments into PGSCOUT_* values', () => {
    const p = file(`# pgscout
pg = "host=/var/run/postgresql user=postgres"   # the target
out = '/var/lib/pgscout'
statement_rows = "2000/s"
sample = 0.5
exact = true
interval = "2s" # a '#' inside "a string" stays: see below
host = "db#1"
`);
    expect(readConfigFile(p, KEYS)).toEqual({
      PGSCOUT_PG: 'host=/var/run/postgresql user=postgres', PGSCOUT_OUT: '/var/lib/pgscout', PGSCOUT_STATEMENT_ROWS: '2000/s',
      PGSCOUT_SAMPLE: '0.5', PGSCOUT_EXACT: 'true', PGSCOUT_INTERVAL: '2s', PGSCOUT_HOST: 'db#1',
    });
  });

  it('flags win over the environment, which wins over the file', () => {
    const fromFile = readConfigFile(file('interval = "2s"\nslow = "50ms"\nhost = "from-file"\n'), KEYS);
    const cfg = collectConfig({ interval: '3s', pg: 'host=/tmp', out: '/tmp/x' }, { ...fromFile, PGSCOUT_HOST: 'from-env' });
    expect([cfg.intervalMs, cfg.slowMs, cfg.host]).toEqual([3000, 50, 'from-env']);
  });

  it('names the line of an unknown key, a bad value or a missing file', () => {
    expect(() => readConfigFile(file('pg = "x"\nbogus = 1\n'), KEYS)).toThrow(/line 2: unknown key 'bogus'/);
    expect(() => readConfigFile(file('interval = 1s\n'), KEYS)).toThrow(/line 1: 1s is not a string, number or boolean/);
    expect(() => readConfigFile(file('pg "x"\n'), KEYS)).toThrow(/line 1: expected key = value/);
    expect(() => readConfigFile('/nonexistent/pgscout.toml', KEYS)).toThrow(/cannot read the config file .* \(ENOENT\)/);
  });

  it('reads the packaged /etc/pgscout/pgscout.toml into the configuration it documents', () => {
    const env = readConfigFile(new URL('../packaging/pgscout.toml', import.meta.url).pathname, KEYS);
    const cfg = collectConfig({}, env);
    expect([cfg.intervalMs, cfg.syncIntervalMs, cfg.statementRows, cfg.slowMs, cfg.prometheus])
      .toEqual([1000, 5000, 500, 10, { host: '127.0.0.1', port: 9464 }]);
  });

  it('goes through the same checks as the flags (one line, exit ≠ 0)', async () => {
    const r = await runCli(['collect', '--config', file('pg = "host=/tmp"\nout = "/tmp/x"\ninterval = "soon"\n')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--interval 'soon' is not a duration/);
  });
});
