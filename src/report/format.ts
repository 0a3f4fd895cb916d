/** Text helpers for the HTML report: escaping and human-readable numbers. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and double- or single-quoted attribute values (also inside SVG). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

/** `name="value"` pairs, escaped; undefined/null values are left out. */
export function attrs(values: Record<string, string | number | bigint | boolean | null | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => ` ${k}="${escapeHtml(String(v))}"`)
    .join('');
}

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 3 significant digits for small values, grouped integers for large ones. */
function sig(n: number): string {
  if (n >= 1000) return INT.format(n);
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** A duration in ns as "850 ns", "12.3 µs", "4.56 ms", "1,234 s". */
export function fmtNs(ns: number | bigint): string {
  const n = Number(ns);
  if (n < 1e3) return `${n.toFixed(0)} ns`;
  if (n < 1e6) return `${sig(n / 1e3)} µs`;
  if (n < 1e9) return `${sig(n / 1e6)} ms`;
  return `${sig(n / 1e9)} s`;
}

/** A count with thousands separators, exact for bigint. */
export function fmtCount(n: number | bigint): string {
  if (typeof n === 'bigint') return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return INT.format(n);
}

/** A count in at most 4 characters plus suffix: "950", "12.3k", "4.5M". */
export function fmtCompact(n: number | bigint): string {
  const v = Number(n);
  if (v < 1000) return String(v);
  if (v < 1e6) return `${v < 1e4 ? (v / 1e3).toFixed(1) : (v / 1e3).toFixed(0)}k`;
  if (v < 1e9) return `${v < 1e7 ? (v / 1e6).toFixed(1) : (v / 1e6).toFixed(0)}M`;
  return `${(v / 1e9).toFixed(1)}G`;
}

/** part / whole as "42.0 %" ("—" when whole is 0). */
export function fmtPct(part: number | bigint, whole: number | bigint): string {
  const w = Number(whole);
  if (!(w > 0)) return '—';
  return `${((100 * Number(part)) / w).toFixed(1)} %`;
}

/** First `max` characters of a one-line version of `text`, with an ellipsis when cut. */
export function shorten(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}
