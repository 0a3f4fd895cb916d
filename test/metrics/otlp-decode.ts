/**
 * A protobuf wire-format reader for OTLP ExportMetricsServiceRequest
 * (opentelemetry/proto/collector/metrics/v1/metrics_service.proto), enough
 * to check what an OTLP receiver gets: resource attributes, metric names,
 * units, kinds and data points. Field numbers from metrics.proto.
 */

type WireValue = bigint | Buffer;
interface Field { no: number; wire: number; value: WireValue }

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    switch (wire) {
      case 0: {
        const [v, p] = readVarint(buf, pos);
        out.push({ no, wire, value: v });
        pos = p;
        break;
      }
      case 1:
        out.push({ no, wire, value: buf.readBigUInt64LE(pos) });
        pos += 8;
        break;
      case 2: {
        const [len, p] = readVarint(buf, pos);
        out.push({ no, wire, value: buf.subarray(p, p + Number(len)) });
        pos = p + Number(len);
        break;
      }
      case 5:
        out.push({ no, wire, value: BigInt(buf.readUInt32LE(pos)) });
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

const bytes = (f: Field) => f.value as Buffer;
const str = (f: Field) => bytes(f).toString('utf8');
const f64 = (f: Field) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(f.value as bigint); return b.readDoubleLE(0); };
const i64 = (f: Field) => Number(BigInt.asIntN(64, f.value as bigint));

export type AttrValue = string | number | boolean | null;

function anyValue(buf: Buffer): AttrValue {
  for (const f of fields(buf)) {
    if (f.no === 1) return str(f);
    if (f.no === 2) return f.value !== 0n;
    if (f.no === 3) return i64(f);
    if (f.no === 4) return f64(f);
  }
  return null;
}

function keyValues(list: Field[]): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list) {
    let key = '';
    let value: AttrValue = null;
    for (const f of fields(bytes(kv))) {
      if (f.no === 1) key = str(f);
      if (f.no === 2) value = anyValue(bytes(f));
    }
    out[key] = value;
  }
  return out;
}

export interface DataPoint { attributes: Record<string, AttrValue>; value?: number; count?: number; sum?: number; bucketCounts?: number[] }
export interface OtlpMetric {
  name: string; description: string; unit: string; scope: string;
  kind: 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';
  monotonic: boolean; temporality: number; points: DataPoint[];
}
export interface OtlpRequest { resource: Record<string, AttrValue>; metrics: OtlpMetric[] }

function numberPoint(buf: Buffer): DataPoint {
  const fs = fields(buf);
  const p: DataPoint = { attributes: keyValues(fs.filter((f) => f.no === 7)) };
  for (const f of fs) {
    if (f.no === 4) p.value = f64(f);
    if (f.no === 6) p.value = i64(f);
  }
  return p;
}

function packedFixed64(buf: Buffer): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i + 8 <= buf.length; i += 8) out.push(buf.readBigUInt64LE(i));
  return out;
}

function histogramPoint(buf: Buffer): DataPoint {
  const fs = fields(buf);
  const p: DataPoint = { attributes: keyValues(fs.filter((f) => f.no === 9)), bucketCounts: [] };
  for (const f of fs) {
    if (f.no === 4) p.count = Number(f.value as bigint);
    if (f.no === 5) p.sum = f64(f);
    if (f.no === 6) {
      if (f.wire === 2) p.bucketCounts!.push(...packedFixed64(bytes(f)).map(Number));
      else p.bucketCounts!.push(Number(f.value as bigint));
    }
  }
  return p;
}

function metric(buf: Buffer, scope: string): OtlpMetric {
  const m: OtlpMetric = { name: '', description: '', unit: '', scope, kind: 'gauge', monotonic: false, temporality: 0, points: [] };
  for (const f of fields(buf)) {
    if (f.no === 1) m.name = str(f);
    else if (f.no === 2) m.description = str(f);
    else if (f.no === 3) m.unit = str(f);
    else if ([5, 7, 9, 10, 11].includes(f.no)) {
      m.kind = ({ 5: 'gauge', 7: 'sum', 9: 'histogram', 10: 'exponential_histogram', 11: 'summary' } as const)[f.no as 5 | 7 | 9 | 10 | 11];
      for (const d of fields(bytes(f))) {
        if (d.no === 1) m.points.push(m.kind === 'histogram' ? histogramPoint(bytes(d)) : numberPoint(bytes(d)));
        if (d.no === 2 && m.kind !== 'gauge') m.temporality = Number(d.value as bigint);
        if (d.no === 3 && m.kind === 'sum') m.monotonic = d.value !== 0n;
      }
    }
  }
  return m;
}

export function decodeExportMetricsServiceRequest(buf: Buffer): OtlpRequest[] {
  return fields(buf).filter((f) => f.no === 1).map((rm) => {
    const out: OtlpRequest = { resource: {}, metrics: [] };
    for (const f of fields(bytes(rm))) {
      if (f.no === 1) out.resource = keyValues(fields(bytes(f)).filter((x) => x.no === 1));
      if (f.no === 2) {
        let scope = '';
        const sm = fields(bytes(f));
        for (const s of sm) if (s.no === 1) for (const x of fields(bytes(s))) if (x.no === 1) scope = str(x);
        for (const s of sm) if (s.no === 2) out.metrics.push(metric(bytes(s), scope));
      }
    }
    return out;
  });
}
