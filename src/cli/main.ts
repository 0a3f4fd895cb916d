/** pgscout command line: one line on stderr and exit ≠ 0 for any bad input. */
import { PgscoutError } from '../util/errors.js';

const USAGE = `usage: pgscout <command> [options]

commands:
  doctor  [--pg <conninfo>]                 check kernel, privileges and the PostgreSQL target
  collect --pg <conninfo> --out <dir> [--interval 1s] [--sync-interval 5s] [--duration 30s] [--host <name>]
          [--level statement|operator] [--sample 1] [--sample-rotate 10s]
          [--statement-rows 500/s|all] [--slow 10ms] [--net-recv] [--exact [--phases] [--cpu-clock]]
          [--operator-probes f] [--operator-timing 0.1] [--operator-rows 500/s|all] [--setup-instrumentation] [--skip-warmup] [--wait]
          [--config /etc/pgscout/pgscout.toml]
          [--prometheus [host:]port] [--otlp <url>] [--otlp-interval 10s] [--top-queries 20]
                                            collect until --duration or SIGINT/SIGTERM
  demo    [--out ./pgscout-demo] [--seconds 20]
                                            throwaway PostgreSQL + workload + collection + summary
  summary <dir>                             summarize a dataset read back from its Parquet files
  report  <dir> [--out <dir>/report.html]   write a self-contained HTML page of charts of a dataset
  workload analytical|oltp --pg <conninfo> [--scale 1] [--duration 60s] [--clients 2] [--seed 1]
                                            create (if missing) and run a workload to learn from
  train   <dir> [--target operator|statement] [--model file] [--trees 20] [--max-samples 2000] [--json]
                                            fit a plan-time model, judged on held-out query templates
  predict <dir> --model <file> [--json]     score a dataset with a trained model
  export  <dir> --table <name> [--format csv] [--to file]
                                            one table as CSV (+ types and provenance) for readers without Parquet
`;

type Command = (args: string[]) => Promise<number>;

/**
 * Loaded on demand: a long-running `collect` must not map DuckDB (~60 MB of
 * native code, read-back only), the ML library or the report code it never runs.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  doctor: async () => (await import('./doctor.js')).runDoctor,
  collect: async () => (await import('./collect.js')).runCollect,
  demo: async () => (await import('./demo.js')).runDemo,
  summary: async () => (await import('./summary.js')).runSummary,
  report: async () => (await import('./report.js')).runReport,
  workload: async () => (await import('./workload.js')).runWorkloadCommand,
  train: async () => (await import('./train.js')).runTrain,
  predict: async () => (await import('./train.js')).runPredict,
  export: async () => (await import('./export.js')).runExport,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`pgscout: unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    const command = await load();
    return await command(rest);
  } catch (err) {
    if (err instanceof PgscoutError) {
      process.stderr.write(`pgscout: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`pgscout ${name}: ${parseArgsLine(err.message)}; see 'pgscout --help'\n`);
      return 2;
    }
    throw err;
  }
}

/**
 * node:util's parser explains itself over several lines (and for a value that
 * starts with a dash, such as `--duration -5`, suggests `--duration=-5`, which
 * is no better): one line, saying what to fix.
 */
export function parseArgsLine(message: string): string {
  const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value, and a value starting with '-' is not one (negative numbers are not valid)`;
  return message.split('\n')[0]!;
}
