/**
 * The one place the Worker writes Mermaid (the progress diagrams of workflows/progress.ts). Node ids
 * are fixed by the caller and checked; every label passes `label`, so no task id, profile or status
 * text can reach Mermaid's grammar: no quote ends a string, no `%%{init}%%` directive, no `click`,
 * no HTML, no entity code (`#quot;` needs the `;`), no control or bidi character.
 */
import { stripControls } from "@vault-mcp/contract";

export type Shape = "box" | "circle";

export interface FlowNode {
  /** A fixed identifier chosen by the code (`T`, `A3`), never taken from input. */
  id: string;
  label: string;
  shape?: Shape;
}

const ID = /^[A-Za-z][A-Za-z0-9]{0,15}$/;
export const MAX_LABEL = 60;

/** Label text Mermaid reads as text: syntax characters dropped, `%` runs folded, one short line. */
export function label(text: string, max = MAX_LABEL): string {
  return stripControls(text)
    .replace(/["\\`<>{}[\]|;]/g, "")
    .replace(/%+/g, "%")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, max);
}

function node(n: FlowNode): string {
  if (!ID.test(n.id)) throw new Error(`mermaid: '${n.id}' is not a node id`);
  const text = label(n.label) || "-";
  return n.shape === "circle" ? `${n.id}(("${text}"))` : `${n.id}["${text}"]`;
}

/** `flowchart LR` with the nodes linked one after the other: `A --> B --> C`. */
export function chain(nodes: readonly FlowNode[], direction: "LR" | "TD" = "LR"): string {
  return `flowchart ${direction}\n  ${nodes.map(node).join(" --> ")}`;
}
