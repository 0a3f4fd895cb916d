/**
 * What the default statement source assumes of PostgreSQL's status slot to
 * tell a round trip that only parsed a statement from one that executed it
 * (bpf/stmt_sched.bpf.c, parsed_only) and a round trip of several
 * statements from one (bpf/reply_scan.h, one_statement_writes): how many times each kind of round
 * trip writes the backend's PgBackendStatus (st_changecount goes up by 2 a
 * write). Read from the backend's memory after each round trip of a
 * hand-written v3 frontend, on the PostgreSQL this machine runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../../src/demo/cluster.js';
import { globalAddress } from '../../../src/elf/address.js';
import { loadLayout } from '../../../src/pg/layouts.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { frontend as F, RawConnection } from '../../helpers/raw-protocol.js';

/** The thresholds of parsed_only() in bpf/stmt_sched.bpf.c. */
const PARSED_ONLY_WRITES = 10;
const PARSED_ONLY_WRITES_BLOCK = 6;

type Trip = [name: string, messages: Buffer[]];
const OUTSIDE: Trip[] = [
  ['Parse + Sync', [F.parse('SELECT 2', 'a'), F.sync()]],
  ['Parse + Describe + Sync', [F.parse('SELECT 3', 'b'), F.describe('S', 'b'), F.sync()]],
  ['Query SELECT', [F.query('SELECT 1')]],
  ['Query SET', [F.query("SET work_mem = '8MB'")]],
  ['Query INSERT', [F.query('INSERT INTO w_t VALUES (1)')]],
  ['Query DO', [F.query('DO $$ BEGIN PERFORM 1; END $$')]],
  ['Bind + Execute + Sync', [F.bind('', 'a'), F.execute('', 0), F.sync()]],
  ['Parse + Bind + Execute + Sync', [F.parse('SELECT 4'), F.bind(''), F.execute('', 0), F.sync()]],
  ['Parse + Describe + Bind + Execute + Sync', [F.parse('SELECT 5', 'c'), F.describe('S', 'c'), F.bind('', 'c'), F.execute('', 0), F.sync()]],
];
const INSIDE: Trip[] = [
  ['Parse + Describe + Sync', [F.parse('SELECT 6', 'd'), F.describe('S', 'd'), F.sync()]],
  ['Query SELECT', [F.query('SELECT 7')]],
  ['Bind + Execute + Sync', [F.bind('', 'd'), F.execute('', 0), F.sync()]],
];

/** one_statement_writes() in bpf/reply_scan.h: the counts of one statement's round trip. */
function oneStatement(writes: number, inBlockBefore: boolean, inBlockAfter: boolean): boolean {
  const base = 12 - (inBlockBefore ? 2 : 0) - (inBlockAfter ? 2 : 0);
  return [base, base + 2, base + 6, base - 2].includes(writes);
}

const P = (sql: string) => [F.parse(sql), F.bind(''), F.execute('', 0)];
/** [name, in a block before, in one after, messages, statements it runs]. */
const SHAPES: [string, boolean, boolean, Buffer[], number][] = [
  ['Query', false, false, [F.query('SELECT 1')], 1],
  ['Query BEGIN', false, true, [F.query('BEGIN')], 1],
  ['Query in a block', true, true, [F.query('SELECT 1')], 1],
  ['Bind + Execute + Sync in a block', true, true, [F.bind('', 'p1'), F.execute('', 0), F.sync()], 1],
  ['Parse + Bind + Execute + Sync in a block', true, true, [...P('SELECT 2'), F.sync()], 1],
  ['Query COMMIT', true, false, [F.query('COMMIT')], 1],
  ['Parse + Bind + Execute + Sync BEGIN', false, true, [...P('BEGIN'), F.sync()], 1],
  ['Parse + Bind + Execute + Sync COMMIT', true, false, [...P('COMMIT'), F.sync()], 1],
  ['Bind + Execute + Sync', false, false, [F.bind('', 'p1'), F.execute('', 0), F.sync()], 1],
  ['Parse + Bind + Describe + Execute + Sync', false, false, [F.parse('SELECT 3'), F.bind(''), F.describe('P', ''), F.execute('', 0), F.sync()], 1],
  ['Query of 2', false, false, [F.query('SELECT 1; SELECT 2')], 2],
  ['Query of 3', false, false, [F.query('SELECT 1; SELECT 2; SELECT 3')], 3],
  ['Query BEGIN; SELECT', false, true, [F.query('BEGIN; SELECT 1')], 2],
  ['Query of 2 in a block', true, true, [F.query('SELECT 1; SELECT 2')], 2],
  ['Query SELECT; COMMIT', true, false, [F.query('SELECT 1; COMMIT')], 2],
  ['2 × Bind + Execute, Sync', false, false, [F.bind('', 'p1'), F.execute('', 0), F.bind('', 'p1'), F.execute('', 0), F.sync()], 2],
  ['2 × Bind + Execute, Sync in a block', true, true, [F.bind('', 'p1'), F.execute('', 0), F.bind('', 'p1'), F.execute('', 0), F.sync()], 2],
  ['2 × Parse + Bind + Execute, Sync', false, false, [...P('SELECT 4'), ...P('SELECT 5'), F.sync()], 2],
  ['3 × Parse + Bind + Execute, Sync', false, false, [...P('SELECT 4'), ...P('SELECT 5'), ...P('SELECT 6'), F.sync()], 3],
  ['BEGIN + a statement, Sync (JDBC)', false, true, [...P('BEGIN'), F.parse('SELECT 7'), F.bind(''), F.describe('P', ''), F.execute('', 0), F.sync()], 2],
  ['2 × Parse + Bind + Execute, Sync in a block', true, true, [...P('SELECT 4'), ...P('SELECT 5'), F.sync()], 2],
];

describeBpf('status slot writes a round trip (what parsed_only assumes)', () => {
  let cluster: Cluster;
  let conn: RawConnection;
  let changecount: () => number;

  beforeAll(async () => {
    cluster = await startCluster({});
    await cluster.psql('CREATE TABLE w_t (a int)');
    conn = await RawConnection.open(cluster.host, cluster.port);
    const pid = Number(await cluster.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"));
    const binary = path.join(cluster.binDir, 'postgres');
    const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
    const read = (addr: bigint, n: number) => {
      const b = Buffer.alloc(n);
      fs.readSync(fd, b, 0, n, addr);
      return b;
    };
    const entry = read(globalAddress(cluster.postmasterPid, binary, 'MyBEEntry'), 8).readBigUInt64LE();
    const off = BigInt(loadLayout(15).offsetOf('PgBackendStatus', 'st_changecount'));
    changecount = () => read(entry + off, 4).readUInt32LE();
  });

  afterAll(async () => {
    conn?.close();
    await cluster?.stop();
  });

  const writes = async (messages: Buffer[]) => {
    const before = changecount();
    await conn.roundTrip(...messages);
    return changecount() - before;
  };

  it('outside a transaction block: only a round trip that parsed stays within the threshold', async () => {
    const seen: Record<string, number> = {};
    for (const [name, messages] of OUTSIDE) seen[name] = await writes(messages);
    expect(seen['Parse + Sync']).toBeLessThanOrEqual(PARSED_ONLY_WRITES);
    expect(seen['Parse + Describe + Sync']).toBeLessThanOrEqual(PARSED_ONLY_WRITES);
    for (const [name] of OUTSIDE.slice(2)) expect(seen[name], name).toBeGreaterThan(PARSED_ONLY_WRITES);
  });

  it('one statement\'s round trip writes it as one_statement_writes() expects, several statements\' never do', async () => {
    await conn.roundTrip(F.parse('SELECT 8', 'p1'), F.sync());
    const seen: string[] = [];
    for (const [name, before, after, messages, statements] of SHAPES) {
      if (before) await conn.roundTrip(F.query('BEGIN'));
      const n = await writes(messages);
      if (after) await conn.roundTrip(F.query('COMMIT'));
      if (oneStatement(n, before, after) !== (statements === 1)) seen.push(`${name}: ${n}`);
    }
    expect(seen).toEqual([]);
  });

  it('inside one: a Parse + Describe within the block threshold, a statement above it', async () => {
    await conn.roundTrip(F.query('BEGIN'));
    const seen: Record<string, number> = {};
    for (const [name, messages] of INSIDE) seen[name] = await writes(messages);
    // A COMMIT that ends the block writes as often as a Parse outside one: told apart by the state before it.
    seen.COMMIT = await writes([F.query('COMMIT')]);
    expect(seen['Parse + Describe + Sync']).toBeLessThanOrEqual(PARSED_ONLY_WRITES_BLOCK);
    expect(seen['Query SELECT']).toBeGreaterThan(PARSED_ONLY_WRITES_BLOCK);
    expect(seen['Bind + Execute + Sync']).toBeGreaterThan(PARSED_ONLY_WRITES_BLOCK);
    expect(seen.COMMIT).toBeLessThanOrEqual(PARSED_ONLY_WRITES);
  });
});
