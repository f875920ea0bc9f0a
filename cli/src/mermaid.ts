/**
 * A terminal rendering of the Mermaid flowchart subset our diagrams use (the executor's result and
 * consensus diagrams, the workflow's progress diagram): nodes with labels and shapes, chains of
 * links (`-->`, `---`, `-.->`, `==>`, `-->|text|`, `-- text -->`) and `&` groups. It draws an
 * indented tree, labels in place of ids; a node reached a second time is shown once more with `↑`
 * and not expanded again, so shared nodes and cycles stay finite. Styling statements (classDef,
 * class, style, linkStyle, click) and subgraph frames are left out. It never throws: what it cannot
 * read is skipped, and a diagram with no nodes comes back as its source.
 */

export type Shape =
  | "rect"
  | "round"
  | "stadium"
  | "subroutine"
  | "database"
  | "circle"
  | "rhombus"
  | "hexagon"
  | "flag"
  | "parallelogram";

export interface FlowNode {
  id: string;
  label: string;
  shape: Shape;
}

export interface FlowEdge {
  from: string;
  to: string;
  directed: boolean;
  style: "solid" | "dotted" | "thick";
  label?: string;
}

export interface Flowchart {
  direction: string;
  nodes: Map<string, FlowNode>;
  edges: FlowEdge[];
}

/** `flowchart LR`; statements may follow on the same line after `;`. */
const HEADER = /^(?:flowchart|graph)(?:\s+(TB|TD|BT|LR|RL))?\s*(?:;(.*))?$/i;
const SKIP = /^(?:classDef|class|style|linkStyle|click|subgraph|end|direction|accTitle|accDescr)\b/;

/** Shape openers, longest first, with their closers. */
const OPENERS: readonly [string, string, Shape][] = [
  ["(((", ")))", "circle"],
  ["((", "))", "circle"],
  ["([", "])", "stadium"],
  ["[[", "]]", "subroutine"],
  ["[(", ")]", "database"],
  ["{{", "}}", "hexagon"],
  ["[/", "/]", "parallelogram"],
  ["[\\", "\\]", "parallelogram"],
  ["[", "]", "rect"],
  ["(", ")", "round"],
  ["{", "}", "rhombus"],
  [">", "]", "flag"],
];

/** `-- text -->`, `== text ==>`, `-. text .->` */
const TEXT_LINK = /^(--|==|-\.)\s+(.+?)\s+(-{2,}>|={2,}>|\.-+>|-{3,}|={3,}|\.-+)/;
/** `-->`, `---`, `-.->`, `==>`, `--o`, `--x`, `<-->`, each with an optional `|text|`. */
const LINK = /^<?(-{2,}|={2,}|-\.+-)(>|o|x)?(?:\s*\|("?)([^|]*)\3\|)?/;

function edgeStyle(body: string): FlowEdge["style"] {
  return body.startsWith("=") ? "thick" : body.includes(".") ? "dotted" : "solid";
}

function cleanLabel(raw: string): string {
  const unquoted = raw.trim().replace(/^"([\s\S]*)"$/, "$1");
  return unquoted
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/** Splits a line into statements at `;` outside quotes. */
function statements(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (ch === ";" && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

class Cursor {
  i = 0;
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
  rest(): string {
    return this.s.slice(this.i);
  }
  skipSpace(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] ?? "")) this.i += 1;
  }
  done(): boolean {
    this.skipSpace();
    return this.i >= this.s.length;
  }
}

/**
 * `id`, `id["label"]`, `id{label}`, … with an optional `:::class`; `defined` says whether a shape
 * was given (a bare `O` in `O --> F` refers to a node defined elsewhere). Null when none is here.
 */
function readNode(c: Cursor): { node: FlowNode; defined: boolean } | null {
  c.skipSpace();
  const idMatch = /^[\p{L}\p{N}_][\p{L}\p{N}_\-.]*?(?=[\s[({>:;&|"]|--|==|-\.|$)/u.exec(c.rest());
  if (!idMatch) return null;
  const id = idMatch[0];
  c.i += id.length;
  let node: FlowNode = { id, label: id, shape: "rect" };
  let defined = false;
  const rest = c.rest();
  for (const [open, close, shape] of OPENERS) {
    if (!rest.startsWith(open)) continue;
    let j = open.length;
    // A quoted label may hold the closer's characters; read to the closing quote first.
    const lead = rest.slice(j).match(/^\s*"/);
    if (lead) {
      const endQuote = rest.indexOf('"', j + lead[0].length);
      if (endQuote < 0) return null;
      j = endQuote + 1;
    }
    const end = rest.indexOf(close, j);
    if (end < 0) return null;
    node = { id, label: cleanLabel(rest.slice(open.length, end)), shape };
    defined = true;
    c.i += end + close.length;
    break;
  }
  const cls = /^:::[\w-]+/.exec(c.rest());
  if (cls) c.i += cls[0].length;
  return { node, defined };
}

/** Nodes joined by `&`. */
function readGroup(c: Cursor): { node: FlowNode; defined: boolean }[] {
  const group: { node: FlowNode; defined: boolean }[] = [];
  for (;;) {
    const n = readNode(c);
    if (!n) return group;
    group.push(n);
    c.skipSpace();
    if (!c.rest().startsWith("&")) return group;
    c.i += 1;
  }
}

function readLink(c: Cursor): Omit<FlowEdge, "from" | "to"> | null {
  c.skipSpace();
  const rest = c.rest();
  const t = TEXT_LINK.exec(rest);
  if (t?.[1] && t[2] && t[3]) {
    c.i += t[0].length;
    return { directed: t[3].endsWith(">"), style: edgeStyle(t[1]), label: cleanLabel(t[2]) };
  }
  const m = LINK.exec(rest);
  if (!m?.[1]) return null;
  c.i += m[0].length;
  const label = m[4] !== undefined ? cleanLabel(m[4]) : "";
  return { directed: m[2] !== undefined, style: edgeStyle(m[1]), ...(label ? { label } : {}) };
}

/** Parses a flowchart; null when `src` is not one (another diagram type, or no header). */
export function parseFlowchart(src: string): Flowchart | null {
  const lines = src.split(/\r?\n/);
  let start = 0;
  while (start < lines.length && (lines[start] ?? "").trim() === "") start += 1;
  const header = HEADER.exec((lines[start] ?? "").trim());
  if (!header) return null;
  const chart: Flowchart = { direction: (header[1] ?? "TB").toUpperCase(), nodes: new Map(), edges: [] };
  // A bare reference (`O --> F`) must not overwrite the label given where the node was defined.
  const remember = (r: { node: FlowNode; defined: boolean }) => {
    if (r.defined || !chart.nodes.has(r.node.id)) chart.nodes.set(r.node.id, r.node);
  };
  for (const line of [header[2] ?? "", ...lines.slice(start + 1)]) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("%%")) continue;
    for (const stmt of statements(trimmed)) {
      if (SKIP.test(stmt)) continue;
      const c = new Cursor(stmt);
      let left = readGroup(c);
      if (left.length === 0) continue;
      left.forEach(remember);
      for (;;) {
        const link = readLink(c);
        if (!link) break;
        const right = readGroup(c);
        if (right.length === 0) break;
        right.forEach(remember);
        for (const a of left) for (const b of right) chart.edges.push({ from: a.node.id, to: b.node.id, ...link });
        left = right;
      }
    }
  }
  return chart;
}

export function nodeText(n: FlowNode): string {
  const l = n.label;
  switch (n.shape) {
    case "round":
      return `(${l})`;
    case "stadium":
      return `([${l}])`;
    case "subroutine":
      return `[[${l}]]`;
    case "database":
      return `[(${l})]`;
    case "circle":
      return `((${l}))`;
    case "rhombus":
      return `<${l}>`;
    case "hexagon":
      return `{{${l}}}`;
    case "flag":
      return `>${l}]`;
    case "parallelogram":
      return `/${l}/`;
    case "rect":
      return `[${l}]`;
  }
}

function connector(e: FlowEdge): string {
  const bar = e.style === "thick" ? "═" : e.style === "dotted" ? "╌" : "─";
  const label = e.label ? `${bar}${e.label}${bar}` : bar;
  return `${label}${e.directed ? "▶" : bar}`;
}

/**
 * The tree text of a parsed flowchart. An arrow is followed from its tail; a line without a head
 * (`---`) either way, since it says only that two nodes are connected (our consensus diagram puts
 * run A's own files to its left: `OA0 --- A`). Trees start at the first node no arrow points to, in
 * the order the source names them, so a diagram reads from the node it begins with. A node reached
 * again is shown with `↑` and not expanded twice.
 */
export function drawFlowchart(chart: Flowchart): string {
  const out: string[] = [];
  const links = new Map<string, { edge: FlowEdge; to: string }[]>();
  const link = (from: string, edge: FlowEdge, to: string) =>
    links.set(from, [...(links.get(from) ?? []), { edge, to }]);
  const pointedAt = new Set<string>();
  for (const e of chart.edges) {
    link(e.from, e, e.to);
    if (e.directed) pointedAt.add(e.to);
    else link(e.to, e, e.from);
  }
  const shown = new Set<string>();
  // Each link is drawn once: a line without a head must not lead back where it came from.
  const drawn = new Set<FlowEdge>();
  const text = (id: string) => nodeText(chart.nodes.get(id) ?? { id, label: id, shape: "rect" });
  const walk = (id: string, prefix: string) => {
    const next = (links.get(id) ?? []).filter((l) => !drawn.has(l.edge));
    for (const l of next) drawn.add(l.edge);
    // Children are claimed before any is expanded, so a node sits under its nearest parent.
    const fresh = new Set(next.map((l) => l.to).filter((to) => !shown.has(to)));
    for (const to of fresh) shown.add(to);
    next.forEach(({ edge, to }, k) => {
      const last = k === next.length - 1;
      const expand = fresh.delete(to);
      out.push(`${prefix}${last ? "└" : "├"}${connector(edge)} ${text(to)}${expand ? "" : " ↑"}`);
      if (expand) walk(to, `${prefix}${last ? "    " : "│   "}`);
    });
  };
  const ids = [...chart.nodes.keys()];
  // Nodes only reachable through a cycle of arrows get a tree of their own, in source order.
  for (const id of [...ids.filter((n) => !pointedAt.has(n)), ...ids]) {
    if (shown.has(id)) continue;
    shown.add(id);
    out.push(text(id));
    walk(id, "");
  }
  return out.join("\n");
}

/** Renders a flowchart as a text tree; any other text (or an unreadable diagram) comes back unchanged. */
export function renderMermaid(src: string): string {
  const chart = parseFlowchart(src);
  if (!chart || chart.nodes.size === 0) return src;
  return drawFlowchart(chart);
}

/**
 * A task's result with each flowchart drawn: a leading `flowchart …` block (up to the first blank
 * line; the `standard` verbosity puts text after it) and any ```mermaid fenced block.
 */
export function renderResult(result: string): string {
  const fenced = result.replace(/```mermaid\s*\n([\s\S]*?)\n```/g, (_m, body: string) => renderMermaid(body));
  const lead = /^\s*(?:flowchart|graph)\b[\s\S]*?(?=\n\s*\n|$)/.exec(fenced);
  if (!lead) return fenced;
  return renderMermaid(lead[0].trim()) + fenced.slice(lead[0].length);
}
