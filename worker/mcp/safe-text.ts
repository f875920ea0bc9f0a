/**
 * Text in MCP answers. Every tool's text is stripped of terminal control sequences and bidi
 * controls (`ok`, `guarded`); a task's result, progress and error, which a client may render as
 * Mermaid (the result is a diagram, and the answer or error text may follow it), also lose what would let an agent's answer (appended after the diagram at `standard`/`full`) act
 * as Mermaid: a `%%{init}%%` directive anywhere in the text, or a `click` statement (at a line's
 * start or after `;`, where Mermaid's flowchart grammar starts a statement).
 */
import { escapeControls, stripControls } from "@vault-mcp/contract";

const DIRECTIVE = /%{2,}/g;
const CLICK = /(^|[\n;])([ \t]*)click(?=\s)/gi;

/** A result, progress or error text that can neither drive a terminal nor act as Mermaid beyond its own diagram. */
export function inertText(text: string): string {
  return stripControls(text).replace(DIRECTIVE, "%").replace(CLICK, "$1$2(click)");
}

export { escapeControls, stripControls };
