/**
 * The Prometheus scrape endpoint: a pull reader (the exporter package's
 * PrometheusExporter, its own server never started) behind our own HTTP
 * server, so that
 *  - the bind address is exactly what the user asked for (127.0.0.1 unless
 *    they wrote another address; never every interface by default), and
 *  - names follow the OpenTelemetry → Prometheus compatibility rules with
 *    unit suffixes, the same names an OpenTelemetry Collector produces
 *    from our OTLP push (see prometheus-names.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { ListenAddress } from '../config.js';
import { ConfigError } from '../util/errors.js';
import { logger } from '../util/log.js';
import { prometheusBaseName, type MetricKind } from './prometheus-names.js';

const log = logger('metrics');

function kindOf(m: MetricData): MetricKind {
  switch (m.dataPointType) {
    case DataPointType.HISTOGRAM:
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'histogram';
    case DataPointType.SUM:
      return m.isMonotonic ? 'counter' : 'updowncounter';
    default:
      return 'gauge';
  }
}

/** The same data with Prometheus family names (the serializer adds `_total` and histogram suffixes). */
export function withPrometheusNames(rm: ResourceMetrics): ResourceMetrics {
  return {
    resource: rm.resource,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      scope: sm.scope,
      metrics: sm.metrics.map((m) => ({
        ...m,
        descriptor: { ...m.descriptor, name: prometheusBaseName(m.descriptor.name, m.descriptor.unit, kindOf(m)) },
      }) as MetricData),
    })),
  };
}

export class PrometheusEndpoint {
  readonly reader: PrometheusExporter;
  private readonly serializer = new PrometheusSerializer();
  private readonly server: http.Server;

  private constructor(readonly address: ListenAddress, metricProducers: MetricProducer[]) {
    this.reader = new PrometheusExporter({ preventServerStart: true, metricProducers });
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  /** Listens before returning: a taken port is a one-line error at startup. */
  static async start(address: ListenAddress, metricProducers: MetricProducer[] = []): Promise<PrometheusEndpoint> {
    const ep = new PrometheusEndpoint(address, metricProducers);
    await new Promise<void>((resolve, reject) => {
      ep.server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the port is already in use'
          : err.code === 'EADDRNOTAVAIL' ? 'that address is not on this machine'
            : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new ConfigError(`--prometheus ${ep.displayAddress()}: cannot listen: ${why}`));
      });
      ep.server.listen({ host: address.host, port: address.port }, () => resolve());
    });
    ep.server.on('error', (err) => log.error(`prometheus endpoint: ${err.message}`));
    ep.server.unref();
    return ep;
  }

  private displayAddress(): string {
    const h = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `${h}:${this.address.port}`;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo | null;
    const h = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${h}:${a?.port ?? this.address.port}/metrics`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404).end();
      return;
    }
    this.reader.collect({ timeoutMillis: 5000 }).then(({ resourceMetrics, errors }) => {
      if (errors.length) log.debug(`metric collection errors: ${errors.map(String).join('; ')}`);
      const body = this.serializer.serialize(withPrometheusNames(resourceMetrics));
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : body);
    }).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`# collection failed: ${String(err)}\n`);
    });
  }

  /** Stops listening and drops open scrape connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
