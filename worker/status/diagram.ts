/**
 * The result's Mermaid as the status page draws it. The executor's one Mermaid writer already escapes
 * every label, but the Worker stores whatever the executor sent, so the page neutralises the source
 * again before Mermaid sees it (in a sandboxed frame, with securityLevel strict and labels as SVG
 * text, never HTML). Each rule answers one way Mermaid text can act:
 *
 * | trap                                                    | rule                                   |
 * |---------------------------------------------------------|----------------------------------------|
 * | terminal/bidi controls hide or reorder text             | stripControls (inertText)              |
 * | `%%{init: …}%%` reconfigures the renderer               | runs of `%` → one `%` (inertText)      |
 * | `click X call f()` / `href "javascript:…"`              | `click` → `(click)`: no statement      |
 * | `<img onerror>`, `<script>`: labels are parsed as HTML  | `<` before a tag name → `‹`            |
 * | `#lt;` / `#60;` entity codes decode to `<` first        | `#…;` loses its `#`                    |
 * | `$$…$$` is KaTeX, a backtick label is Markdown          | runs of `$` → one; `` ` `` → `'`       |
 */
import { inertText } from "../mcp/safe-text.ts";

/** Mermaid's own default cap on a diagram's text. */
const MAX_SOURCE = 50_000;
const DIAGRAM_START = /^\s*(flowchart|graph)\b/;

/** A result that starts with a diagram: the diagram (up to the first blank line) and the rest. */
export function splitResult(result: string | null): { diagram: string | null; rest: string | null } {
  if (!result) return { diagram: null, rest: null };
  if (!DIAGRAM_START.test(result)) return { diagram: null, rest: result };
  const blank = result.search(/\n\s*\n/);
  if (blank < 0) return { diagram: result, rest: null };
  const rest = result.slice(blank).trim();
  return { diagram: result.slice(0, blank), rest: rest || null };
}

export function inertMermaid(source: string): string {
  // inertText: the MCP answers' rules (controls, directives, `click`); then what only a browser meets.
  return inertText(source.slice(0, MAX_SOURCE))
    .replace(/<(?=[A-Za-z!/?])/g, "‹")
    .replace(/#(?=[A-Za-z0-9]+;)/g, "")
    .replace(/\$+/g, "$")
    .replace(/`/g, "'");
}
