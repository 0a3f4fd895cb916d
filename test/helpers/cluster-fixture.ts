/**
 * One throwaway PostgreSQL cluster and one temp out dir per describe block.
 * setup runs in the same beforeAll, after both exist; teardown runs first in
 * afterAll, so whatever setup started (a Collection, clients, servers) is
 * gone before the cluster stops.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startCluster, type Cluster, type ClusterOptions } from '../../src/demo/cluster.js';

export interface ClusterFixtureOptions extends ClusterOptions {
  /** mkdtemp prefix of the out dir; default 'pgscout-test-'. */
  outPrefix?: string;
  setup?: (cluster: Cluster, out: string) => Promise<void> | void;
  /** Runs even when setup failed part way: guard what setup may not have made. */
  teardown?: (cluster: Cluster, out: string) => Promise<void> | void;
}

export interface ClusterFixture {
  readonly cluster: Cluster;
  readonly out: string;
}

export function useCluster(opts: ClusterFixtureOptions = {}): ClusterFixture {
  const { outPrefix = 'pgscout-test-', setup, teardown, ...clusterOptions } = opts;
  let cluster: Cluster | undefined;
  let out: string | undefined;

  beforeAll(async () => {
    cluster = await startCluster(clusterOptions);
    out = fs.mkdtempSync(path.join(os.tmpdir(), outPrefix));
    await setup?.(cluster, out);
  });

  afterAll(async () => {
    try {
      if (cluster && out) await teardown?.(cluster, out);
    } finally {
      await cluster?.stop();
      if (out) fs.rmSync(out, { recursive: true, force: true });
    }
  });

  // A getter that throws says "beforeAll has not run or failed" instead of "undefined has no psql".
  return {
    get cluster() {
      if (!cluster) throw new Error('useCluster: cluster not started (beforeAll has not run or failed)');
      return cluster;
    },
    get out() {
      if (!out) throw new Error('useCluster: out dir not made (beforeAll has not run or failed)');
      return out;
    },
  };
}
