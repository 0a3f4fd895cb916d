/** The report's inline stylesheet: system fonts only, nothing fetched. */
export const STYLE = `
:root { --fg: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #ffffff; --panel: #f7f9fb; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1080px; padding: 24px 28px 40px; color: var(--fg); background: var(--bg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
code, .mono, .query { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 2px; }
header .meta { color: var(--muted); margin: 0 0 16px; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .v { font-size: 20px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; }
figure.chart { margin: 22px 0 0; padding: 16px 18px; border: 1px solid var(--line); border-radius: 10px; background: var(--bg); }
figcaption p { color: var(--muted); margin: 0 0 8px; font-size: 13px; }
figure.chart svg { display: block; width: 100%; height: auto; }
svg text { font-size: 12px; fill: var(--fg); }
svg text.mono { font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 11.5px; }
svg text.tick, svg text.note, svg text.axis-title { fill: var(--muted); font-size: 11px; }
svg text.count { fill: var(--muted); font-size: 10px; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }
svg text.marker-label { font-size: 12px; font-weight: 600; }
svg line.grid { stroke: var(--line); stroke-width: 1; }
svg line.axis { stroke: #9aa5b1; stroke-width: 1; }
svg g.bar:hover rect { opacity: 0.85; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; margin: 4px 0 6px; font-size: 12px; color: var(--muted); }
.legend .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -2px; }
.empty { margin: 8px 0; padding: 16px; background: var(--panel); border-radius: 6px; color: var(--muted); font-style: italic; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; text-align: left; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.query { width: 46%; }
td.query div { max-height: 7.5em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
tbody tr:nth-child(even) { background: var(--panel); }
footer { margin-top: 24px; color: var(--muted); font-size: 12px; }
`;
