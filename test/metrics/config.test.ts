/** --prometheus, --otlp, --otlp-interval, --top-queries: parsing, env overrides, one-line errors. */
import { describe, expect, it } from 'vitest';
import { collectConfig, parseListenAddress, parseOtlpUrl, type RawCollectOptions } from '../../src/config.js';
import { ConfigError } from '../../src/util/errors.js';

const base = { pg: 'host=/tmp user=postgres', out: '/tmp/out' };
const cfg = (flags: RawCollectOptions, env: NodeJS.ProcessEnv = {}) => collectConfig({ ...base, ...flags }, env);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('expected a ConfigError');
}

describe('--prometheus', () => {
  it('is off by default', () => {
    expect(cfg({}).prometheus).toBeNull();
  });

  it('a bare port listens on 127.0.0.1, never on every interface', () => {
    expect(parseListenAddress('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress(':9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(cfg({ prometheus: '9464' }).prometheus).toEqual({ host: '127.0.0.1', port: 9464 });
  });

  it('takes an explicit host, IPv4, [IPv6] or name; 0.0.0.0 only when written', () => {
    expect(parseListenAddress('10.1.2.3:9100')).toEqual({ host: '10.1.2.3', port: 9100 });
    expect(parseListenAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListenAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListenAddress('localhost:9464')).toEqual({ host: 'localhost', port: 9464 });
  });

  it.each([
    ['abc', /not a port or host:port/],
    ['127.0.0.1', /not a port or host:port/],
    ['127.0.0.1:', /not a port or host:port/],
    ['http://127.0.0.1:9464', /not a port or host:port/],
    ['127.0.0.1:99999', /port must be 1-65535/],
    ['0', /port must be 1-65535/],
    ['300.1.1.1:9464', /not a host name or IPv4 address/],
    ['[zz::1]:9464', /not an IPv6 address/],
    ['bad_host!:9464', /not a host name or IPv4 address/],
  ])('rejects %s with one clear line', (value, message) => {
    const e = configError(() => cfg({ prometheus: value }));
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`--prometheus '${value}'`);
  });

  it('comes from PGSCOUT_PROMETHEUS; the flag wins', () => {
    expect(cfg({}, { PGSCOUT_PROMETHEUS: '9100' }).prometheus).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(cfg({ prometheus: '9200' }, { PGSCOUT_PROMETHEUS: '9100' }).prometheus?.port).toBe(9200);
    expect(cfg({}, { PGSCOUT_PROMETHEUS: '' }).prometheus).toBeNull();
  });
});

describe('--otlp and --otlp-interval', () => {
  it('keeps a full URL and completes a bare origin with /v1/metrics', () => {
    expect(parseOtlpUrl('http://127.0.0.1:4318/v1/metrics')).toBe('http://127.0.0.1:4318/v1/metrics');
    expect(parseOtlpUrl('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/metrics');
    expect(parseOtlpUrl('https://otel.example:4318/')).toBe('https://otel.example:4318/v1/metrics');
    expect(parseOtlpUrl('http://gw:8080/otlp/v1/metrics')).toBe('http://gw:8080/otlp/v1/metrics');
  });

  it.each(['127.0.0.1:4318', 'grpc://127.0.0.1:4317', 'not a url', 'http://', 'file:///tmp/x'])('rejects %s', (value) => {
    expect(configError(() => cfg({ otlp: value })).message)
      .toBe(`--otlp '${value}' is not an http:// or https:// URL (OTLP/HTTP); use e.g. http://127.0.0.1:4318/v1/metrics`);
  });

  it('pushes every 10 s by default; interval from flag or PGSCOUT_OTLP_INTERVAL', () => {
    expect(cfg({ otlp: 'http://127.0.0.1:4318' }).otlpIntervalMs).toBe(10_000);
    expect(cfg({ otlp: 'http://127.0.0.1:4318', 'otlp-interval': '1s' }).otlpIntervalMs).toBe(1000);
    const env = cfg({}, { PGSCOUT_OTLP: 'http://127.0.0.1:4318', PGSCOUT_OTLP_INTERVAL: '30s' });
    expect([env.otlp, env.otlpIntervalMs]).toEqual(['http://127.0.0.1:4318/v1/metrics', 30_000]);
  });

  it('rejects intervals that are not durations or out of range', () => {
    expect(configError(() => cfg({ otlp: 'http://127.0.0.1:4318', 'otlp-interval': 'often' })).message)
      .toMatch(/--otlp-interval 'often' is not a duration/);
    expect(configError(() => cfg({ otlp: 'http://127.0.0.1:4318', 'otlp-interval': '10ms' })).message)
      .toMatch(/--otlp-interval must be between 100ms and 1h/);
    expect(configError(() => cfg({ otlp: 'http://127.0.0.1:4318', 'otlp-interval': '2h' })).message)
      .toMatch(/--otlp-interval must be between 100ms and 1h/);
  });
});

describe('--top-queries', () => {
  it('is 20 (bounded per-query_id series, cheap from query_stats) by default; 0 turns them off', () => {
    expect(cfg({ prometheus: '9464' }).topQueries).toBe(20);
    expect(cfg({ prometheus: '9464', 'top-queries': '0' }).topQueries).toBe(0);
    expect(cfg({}).topQueries).toBe(20); // no metrics output: nothing is exported, no error
  });

  it('accepts 0..100 with a metrics output', () => {
    expect(cfg({ prometheus: '9464', 'top-queries': '100' }).topQueries).toBe(100);
    expect(cfg({ otlp: 'http://127.0.0.1:4318', 'top-queries': '5' }).topQueries).toBe(5);
    expect(cfg({}, { PGSCOUT_PROMETHEUS: '9464', PGSCOUT_TOP_QUERIES: '7' }).topQueries).toBe(7);
  });

  it.each(['101', '-1', '2.5', 'ten'])('rejects %s: bounded cardinality', (value) => {
    expect(configError(() => cfg({ prometheus: '9464', 'top-queries': value })).message)
      .toMatch(/--top-queries '.*' must be an integer from 0 to 100/);
  });

  it('needs --prometheus or --otlp', () => {
    expect(configError(() => cfg({ 'top-queries': '10' })).message).toMatch(/give --prometheus <host:port> or --otlp <url>/);
  });
});

describe('operator level: --sample, --operator-probes, --operator-timing, --operator-rows, --setup-instrumentation; --net-recv', () => {
  it('have defaults and take env overrides', () => {
    const d = cfg({});
    expect([d.setupInstrumentation, d.netRecv, d.operatorProbes, d.operatorTiming, d.operatorRows, d.sample]).toEqual([false, false, null, 0.1, 500, 1]);
    expect(cfg({ level: 'operator' }, { PGSCOUT_OPERATOR_PROBES: '0.5', PGSCOUT_OPERATOR_TIMING: '0', PGSCOUT_OPERATOR_ROWS: 'all' }))
      .toMatchObject({ operatorProbes: 0.5, operatorTiming: 0, operatorRows: null });
    expect(cfg({ level: 'operator', 'setup-instrumentation': true, sample: '0.25', 'operator-rows': '2000/s' }))
      .toMatchObject({ setupInstrumentation: true, sample: 0.25, operatorRows: 2000 });
  });

  it('refuse combinations and values that cannot work, in one line', () => {
    expect(configError(() => cfg({ 'setup-instrumentation': true })).message).toMatch(/part of the operator level: add --level operator/);
    expect(configError(() => cfg({ 'operator-probes': '0.1' })).message).toMatch(/part of the operator level: add --level operator/);
    expect(configError(() => cfg({ sample: '0.5' })).message).toMatch(/fraction of statements instrumented at --level operator/);
    expect(configError(() => cfg({ level: 'operator', sample: '0' })).message).toMatch(/--sample '0' must be a fraction in \(0, 1\]/);
    expect(configError(() => cfg({ level: 'operator', 'operator-timing': '1.5' })).message).toMatch(/--operator-timing '1.5' must be a fraction in \[0, 1\]/);
    expect(configError(() => cfg({ level: 'operator', 'operator-rows': 'many' })).message).toMatch(/--operator-rows 'many' must be a rate/);
    expect(cfg({ 'net-recv': true, exact: true }).netRecv).toBe(true);
    expect(configError(() => cfg({ 'net-recv': true, exact: true, phases: true })).message).toMatch(/--net-recv is for the scheduler-based statement source/);
    expect(configError(() => cfg({ 'net-recv': true, level: 'operator', 'operator-probes': '1' })).message).toMatch(/--net-recv is for the scheduler-based/);
    expect(cfg({ 'net-recv': true, level: 'operator' }).netRecv).toBe(true);
    expect(configError(() => cfg({ 'cpu-clock': true })).message).toMatch(/--cpu-clock needs --exact or --operator-probes/);
    expect(cfg({ exact: true }).cpuClock).toBe(false);
    expect(cfg({ exact: true }, { PGSCOUT_CPU_CLOCK: '1' }).cpuClock).toBe(true);
    expect(configError(() => cfg({ level: 'operator', 'skip-warmup': true })).message).toMatch(/--skip-warmup is for --operator-probes/);
    expect(cfg({ level: 'operator', 'operator-probes': '1' }, { PGSCOUT_SKIP_WARMUP: 'true' }).skipWarmup).toBe(true);
  });
});
