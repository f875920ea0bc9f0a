/**
 * The one writer of the executor's Mermaid: the run diagram (compress/mermaid.ts) and the consensus
 * diagram (consensus/mermaid.ts) are declared as nodes, chains and classes, and `render()` writes the
 * text. Node ids and class names are our own constants (checked here: never built from input); every
 * label is escaped here, once, when it is written, so no input reaches Mermaid's grammar. Callers
 * size a label (label.ts: `clip`, `clipPath`) and never escape one.
 *
 * Escaping: every label sits inside `["…"]` or `{"…"}`, and inside a quoted string Mermaid's
 * flowchart lexer accepts anything but `"`; the other traps are in the preprocessing before the
 * parser and in the renderer. Each rule answers one trap, checked with `mermaid.parse` in
 * test/compress (what the parser cannot see is noted):
 *
 * | trap                                                        | rule                                  |
 * |-------------------------------------------------------------|---------------------------------------|
 * | `"` ends the string (parse error)                           | `"` → `'`                             |
 * | a line starting `%%` is a comment and eats the `"]` after it | no newline survives (whitespace fold) |
 * | `%%{init: …}%%` anywhere is a config directive (render)     | runs of `%` → one `%`                 |
 * | `#quot;` / `#35;` entity codes are decoded (render)          | `#` → space                           |
 * | `<b>`, `<img onerror>`: labels are HTML (render)            | `<` `>` → space                       |
 * | a label starting with a backtick is Markdown (render)       | `` ` `` → `'`                         |
 * | `$$…$$` is KaTeX (render)                                   | runs of `$` → one `$`                 |
 * | `""` (empty) is a parse error                               | empty → `-`                           |
 * | control, zero-width and bidi-override characters            | dropped (they hide or reorder text)   |
 * | lone surrogates (a string cut mid-pair)                     | dropped                               |
 *
 * Escaping never lengthens a label, so the byte cap a caller clipped it to still holds. `end`,
 * `subgraph`, `|`, `;`, `:`, brackets and braces are harmless inside quotes (tested) and stay, so
 * paths and error messages read as written (`-->` only loses its `>`).
 */
import { plain } from "./label.ts";

export type Shape = "box" | "decision";
export type Link = "-->" | "---";

/** A node declared where it first appears in a chain. */
export interface NodeDecl {
  id: string;
  /** Raw text, already clipped to its size; escaped when written. */
  text: string;
  shape?: Shape;
  /** A class declared with `classDef`. */
  cls?: string;
}

/** A step of a chain: a node declared there, an id declared before, or several joined with `&`. */
export type Step = NodeDecl | string | readonly (NodeDecl | string)[];

export const node = (id: string, text: string, shape: Shape = "box", cls?: string): NodeDecl => ({
  id,
  text,
  shape,
  ...(cls === undefined ? {} : { cls }),
});

const BRACKETS: Readonly<Record<Shape, readonly [string, string]>> = { box: ['["', '"]'], decision: ['{"', '"}'] };
/** Capitalized ids and lower-case class names can never be a keyword (`end`, `subgraph`, `style`…). */
const ID = /^[A-Z][A-Za-z0-9]*$/;
const CLASS = /^[a-z][a-z0-9]*$/;
const KEYWORDS = new Set(["end", "default", "graph", "flowchart", "subgraph", "style", "class", "click", "direction"]);
const STYLE = /^[a-z-]+:#?[A-Za-z0-9.%]+(?:,[a-z-]+:#?[A-Za-z0-9.%]+)*$/;

/** A label's text as Mermaid may read it (the table above); never empty. */
export function escapeLabel(text: string): string {
  const safe = plain(text.replace(/["`]/g, "'").replace(/[#<>]/g, " ").replace(/%+/g, "%").replace(/\$+/g, "$"));
  return safe.length > 0 ? safe : "-";
}

export class Flowchart {
  readonly #lines: string[] = [];
  readonly #styles = new Map<string, string>();
  readonly #used = new Set<string>();
  readonly #declared = new Set<string>();

  /** A class nodes may use; written at the end only if one does (an unused classDef costs tokens). */
  classDef(name: string, style: string): this {
    if (!CLASS.test(name) || KEYWORDS.has(name)) throw new Error(`bad Mermaid class name '${name}'`);
    if (!STYLE.test(style)) throw new Error(`bad Mermaid style '${style}'`);
    this.#styles.set(name, style);
    return this;
  }

  /** One line: the steps joined by `link` (`A --> B & C`). */
  chain(link: Link, ...steps: readonly Step[]): this {
    const parts = steps.map((s) => (Array.isArray(s) ? s : [s]).map((n) => this.#node(n)).join(" & "));
    this.#lines.push(`  ${parts.join(` ${link} `)}`);
    return this;
  }

  render(): string {
    const classes = [...this.#styles].filter(([name]) => this.#used.has(name));
    return ["flowchart LR", ...this.#lines, ...classes.map(([name, style]) => `  classDef ${name} ${style}`)].join(
      "\n",
    );
  }

  #node(n: NodeDecl | string): string {
    if (typeof n === "string") {
      if (!this.#declared.has(n)) throw new Error(`Mermaid node '${n}' is used before it is declared`);
      return n;
    }
    if (!ID.test(n.id)) throw new Error(`bad Mermaid node id '${n.id}'`);
    if (this.#declared.has(n.id)) throw new Error(`Mermaid node '${n.id}' is declared twice`);
    this.#declared.add(n.id);
    const [open, close] = BRACKETS[n.shape ?? "box"];
    let cls = "";
    if (n.cls !== undefined) {
      if (!this.#styles.has(n.cls)) throw new Error(`Mermaid class '${n.cls}' has no classDef`);
      this.#used.add(n.cls);
      cls = `:::${n.cls}`;
    }
    return `${n.id}${open}${escapeLabel(n.text)}${close}${cls}`;
  }
}
