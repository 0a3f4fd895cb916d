import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Layout, layoutPath, loadLayout, type LayoutTable } from '../../src/pg/layouts.js';
import { packageRoot } from '../../src/util/package-root.js';
import { NotSupportedError, TargetError } from '../../src/util/errors.js';

const run = promisify(execFile);

describe('pg15 layout table', () => {
  const l = loadLayout(15);

  it('matches known PostgreSQL 15 offsets', () => {
    expect(l.meta.major).toBe(15);
    expect(l.meta.arch).toBe('amd64');
    expect(l.meta.unavailable).toEqual([]);

    expect(l.sizeOf('PlanState')).toBe(200);
    expect(l.offsetOf('PlanState', 'type')).toBe(0);
    expect(l.offsetOf('PlanState', 'plan')).toBe(8);
    expect(l.offsetOf('PlanState', 'state')).toBe(16);
    expect(l.offsetOf('PlanState', 'ExecProcNode')).toBe(24);
    expect(l.offsetOf('PlanState', 'ExecProcNodeReal')).toBe(32);
    expect(l.offsetOf('PlanState', 'instrument')).toBe(40);

    expect(l.offsetOf('Plan', 'startup_cost')).toBe(8);
    expect(l.offsetOf('Plan', 'total_cost')).toBe(16);
    expect(l.offsetOf('Plan', 'plan_rows')).toBe(24);
    expect(l.offsetOf('Plan', 'plan_width')).toBe(32);
    expect(l.offsetOf('Plan', 'plan_node_id')).toBe(40);
    for (const f of ['parallel_aware', 'parallel_safe', 'async_capable', 'lefttree', 'righttree', 'initPlan']) {
      expect(l.hasField('Plan', f), f).toBe(true);
    }

    expect(l.offsetOf('TupleTableSlot', 'tts_flags')).toBe(4);
    expect(l.offsetOf('HashState', 'hashtable')).toBe(200);
    expect(l.offsetOf('HashJoinTableData', 'partialTuples')).toBe(96);
    expect(l.offsetOf('Instrumentation', 'ntuples')).toBe(240);
    expect(l.offsetOf('Instrumentation', 'nloops')).toBe(256);
    expect(l.offsetOf('PGPROC', 'lockGroupLeader')).toBe(840);
    expect(l.offsetOf('PGPROC', 'pid')).toBe(64);
    expect(l.offsetOf('PgBackendStatus', 'st_query_id')).toBe(424);
  });

  it('reports field widths and kinds', () => {
    expect(l.field('Plan', 'plan_rows')).toEqual({ offset: 24, size: 8, kind: 'float' });
    expect(l.field('Plan', 'parallel_aware')).toMatchObject({ size: 1, kind: 'bool' });
    expect(l.field('PlanState', 'plan')).toMatchObject({ size: 8, kind: 'pointer' });
    expect(l.field('PgBackendStatus', 'st_query_id')).toMatchObject({ size: 8, kind: 'uint' });
    expect(l.field('WorkerInstrumentation', 'instrument')).toMatchObject({ size: 0, kind: 'flexarray' });
    // Embedded struct members resolve through dotted names.
    expect(l.offsetOf('IncrementalSort', 'sort.numCols')).toBe(l.offsetOf('Sort', 'numCols'));
  });

  it('maps node tags and enums both ways', () => {
    expect(l.nodeTag('T_Invalid')).toBe(0);
    expect(l.nodeTag('T_Result')).toBe(11);
    expect(l.nodeTag('Result')).toBe(11);
    expect(l.nodeTag('T_WorkTableScan')).toBe(34);
    expect(l.nodeTagName(l.nodeTag('T_HashJoinState'))).toBe('T_HashJoinState');
    expect(l.nodeTag('T_SeqScanState')).toBeGreaterThan(l.nodeTag('T_PlanState'));
    expect(l.enumValue('JoinType', 'JOIN_INNER')).toBe(0);
    expect(l.enumValue('CmdType', 'CMD_SELECT')).toBe(1);
    expect(l.enumValue('AggStrategy', 'AGG_HASHED')).toBe(2);
    expect(l.enumValue('LimitOption', 'LIMIT_OPTION_WITH_TIES')).toBe(1);
    expect(l.enumValue('SetOpStrategy', 'SETOP_HASHED')).toBe(1);
    expect(l.enumValue('SetOpCmd', 'SETOPCMD_EXCEPT_ALL')).toBe(3);
    expect(l.constant('TTS_FLAG_EMPTY')).toBe(2);
  });

  it('names unknown structs, fields, tags and enum members', () => {
    expect(() => l.offsetOf('Plan', 'nope')).toThrow(TargetError);
    expect(() => l.offsetOf('Plan', 'nope')).toThrow(/no field Plan\.nope.*gen-layouts/);
    expect(() => l.sizeOf('Nope')).toThrow(/no struct Nope/);
    expect(() => l.nodeTag('T_Nope')).toThrow(/no node tag T_Nope/);
    expect(() => l.nodeTagName(99999)).toThrow(/99999 is not a PostgreSQL 15 NodeTag/);
    expect(() => l.enumValue('JoinType', 'JOIN_NOPE')).toThrow(/no member JOIN_NOPE of enum JoinType/);
    expect(() => l.enumValue('Nope', 'X')).toThrow(/no enum Nope/);
  });

  it('reports fields absent in a major as NotSupportedError', () => {
    const table = structuredClone(l.table);
    table.meta.unavailable = ['Plan.gone'];
    const patched = new Layout(table);
    expect(() => patched.offsetOf('Plan', 'gone')).toThrow(NotSupportedError);
    expect(() => patched.offsetOf('Plan', 'gone')).toThrow('PostgreSQL 15 has no field Plan.gone');
  });
});

describe('unsupported major', () => {
  it('says how to generate a table', () => {
    expect(() => loadLayout(99)).toThrow(TargetError);
    expect(() => loadLayout(99)).toThrow(
      'PostgreSQL 99 has no layout table; generate one with `bash scripts/gen-layouts.sh 99`',
    );
  });
});

describe('generator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgscout-layouts-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Needs the Debian mirror: a missing network must fail, not skip, so a stale
  // committed table can never pass unnoticed.
  it('regenerates the committed pg15.json', async () => {
    const out = join(dir, 'pg15.json');
    try {
      await run('bash', [join(packageRoot(), 'scripts/gen-layouts.sh'), '15', out], { timeout: 170_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`gen-layouts.sh 15 failed (needs apt-get download from the Debian mirror):\n${e.stderr || e.message}`);
    }
    const fresh = JSON.parse(readFileSync(out, 'utf8')) as LayoutTable;
    const committed = JSON.parse(readFileSync(layoutPath(15), 'utf8')) as LayoutTable;
    // The timestamp always moves, and a Debian point release renames the .deb
    // without changing layouts (stable within a major); everything else must match.
    for (const t of [fresh, committed]) {
      t.meta.generated_at = '';
      t.meta.generated_from = '';
    }
    expect(fresh).toEqual(committed);
  }, 180_000);
});
