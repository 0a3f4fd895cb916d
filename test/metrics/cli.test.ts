/** The metrics flags through the built CLI: one-line errors, and a live endpoint from `pgscout collect`. */
import { describe, expect, it } from 'vitest';
import { describeBpf } from '../helpers/bpf-env.js';
import { BIN, runCli, startCollect } from '../helpers/cli.js';
import { useCluster } from '../helpers/cluster-fixture.js';
import { freePort } from './fake-collection.js';

describe('pgscout collect: metrics flags that are wrong', () => {
  it.each([
    [['--prometheus', 'localhost'], /^pgscout: --prometheus 'localhost' is not a port or host:port; use a port \(9464: listens on 127\.0\.0\.1\)/],
    [['--prometheus', '127.0.0.1:70000'], /^pgscout: --prometheus '127\.0\.0\.1:70000': the port must be 1-65535/],
    [['--otlp', 'localhost:4318'], /^pgscout: --otlp 'localhost:4318' is not an http:\/\/ or https:\/\/ URL/],
    [['--otlp', 'http://127.0.0.1:4318', '--otlp-interval', 'soon'], /^pgscout: --otlp-interval 'soon' is not a duration/],
    [['--top-queries', '5'], /^pgscout: --top-queries exports metrics: give --prometheus/],
    [['--prometheus', '9464', '--top-queries', '1000'], /^pgscout: --top-queries '1000' must be an integer from 0 to 100/],
  ])('%j: one line, exit 1', async (flags, message) => {
    const r = await runCli(['collect', '--pg', 'host=/tmp user=postgres', '--out', '/tmp/pgscout-never', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describeBpf('pgscout collect --prometheus', () => {
  const db = useCluster({ outPrefix: 'pgscout-cli-metrics-' });

  it('serves /metrics on 127.0.0.1 while collecting, says where, and exits cleanly on SIGTERM', async () => {
    const port = await freePort();
    const collect = await startCollect([BIN, 'collect', '--pg', db.cluster.conninfo, '--out', db.out, '--prometheus', String(port)]);
    expect(collect.stderr()).toContain(`metrics at http://127.0.0.1:${port}/metrics`);
    for (let i = 0; i < 5; i++) await db.cluster.psql(`SELECT ${i} AS metrics_cli_probe`);
    await new Promise((r) => setTimeout(r, 1500));
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^pgscout_statement_duration_seconds_count\{[^}]*db_operation_name="SELECT"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^target_info\{[^}]*service_name="pgscout"/m);
    expect(await collect.stop('SIGTERM')).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
