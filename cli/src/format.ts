/** Plain-text tables, money, durations and a terminal rendering of our small Mermaid flowcharts. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n");
}

export const money = (usd: number): string => `$${usd.toFixed(usd >= 1 ? 2 : 4)}`;

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function age(thenMs: number, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

const NODE = /([A-Za-z][\w]*)\s*(?:\[\s*"?([^\]"]*)"?\s*\]|\{\s*"?([^}"]*)"?\s*\}|\(\(\s*"?([^)"]*)"?\s*\)\)|\(\s*"?([^)"]*)"?\s*\))?(?::::\w+)?/g;

/**
 * Draws the flowchart subset our diagrams use (nodes with labels, `-->` / `---` edges) as text:
 * one line per edge, `[from] ──▶ [to]`, labels in place of ids. Anything else is skipped.
 */
export function renderMermaid(src: string): string {
  const labels = new Map<string, string>();
  const edges: [string, string, boolean][] = [];
  for (const raw of src.split("\n").slice(1)) {
    const line = raw.trim();
    if (!line || line.startsWith("classDef") || line.startsWith("%%") || line.startsWith("style")) continue;
    const parts = line.split(/\s*(-->|---)\s*/);
    const ids: string[] = [];
    const arrows: boolean[] = [];
    for (const part of parts) {
      if (part === "-->" || part === "---") {
        arrows.push(part === "-->");
        continue;
      }
      NODE.lastIndex = 0;
      const m = NODE.exec(part);
      if (!m?.[1]) continue;
      const label = m[2] ?? m[3] ?? m[4] ?? m[5];
      if (label !== undefined) labels.set(m[1], label.trim());
      ids.push(m[1]);
    }
    for (let i = 1; i < ids.length; i++) edges.push([ids[i - 1] as string, ids[i] as string, arrows[i - 1] ?? true]);
  }
  const name = (id: string) => `[${labels.get(id) ?? id}]`;
  if (edges.length === 0) return [...labels.values()].map((l) => `[${l}]`).join("\n");
  return edges.map(([a, b, arrow]) => `${name(a)} ${arrow ? "──▶" : "───"} ${name(b)}`).join("\n");
}
