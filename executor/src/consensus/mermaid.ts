/**
 * The consensus diff as a compact flowchart in lanes: A's own files | run A | shared files and the
 * verdict | run B | B's own files, written by the flowchart builder (compress/flowchart.ts), which
 * escapes every label. Layout comes from edge direction alone (`X --- A` puts X left of A,
 * `A --- S --- B` puts S between them), which is far cheaper in tokens than subgraphs. The class
 * names double as words for a reader of the text: `same` (green) for a shared file both changed the
 * same way, `diff` (red) for a shared file changed differently and for files only one side touched.
 *
 *   flowchart LR
 *     A["sonnet ok, verify pass"] --- V{"partial, answers 71% alike"} --- B["codex ok, verify pass"]
 *     A --- S0["src/app.ts"]:::same --- B
 *     A --- D0["src/util.ts"]:::diff --- B
 *     OA0["README.md"]:::diff --- A
 *     classDef same fill:#cfc
 *     classDef diff fill:#fcc
 */
import type { ConsensusReport } from "@vault-mcp/contract";
import { Flowchart, type NodeDecl, node } from "../compress/flowchart.ts";
import { clip, clipPath } from "../compress/label.ts";

/** Files named per group; the rest become one "+N more" node, so the diagram stays small whatever the runs did. */
const FILES_PER_GROUP = 4;

export interface SideLabel {
  profile: string;
  /** `ok`, or what went wrong (an ErrorKind or `failed`). */
  outcome: string;
  verify: boolean | null;
}

function sideLabel(s: SideLabel): string {
  const verify = s.verify === null ? "" : s.verify ? ", verify pass" : ", verify fail";
  return `${clip(s.profile, 24)} ${clip(s.outcome, 16)}${verify}`;
}

/** One node per path, and a `+N more` node when the group is longer than FILES_PER_GROUP. */
function group(prefix: string, paths: readonly string[], cls: "same" | "diff"): NodeDecl[] {
  const nodes = paths.slice(0, FILES_PER_GROUP).map((p, i) => node(`${prefix}${i}`, clipPath(p, 32), "box", cls));
  if (paths.length > FILES_PER_GROUP)
    nodes.push(node(`${prefix}M`, `+${paths.length - FILES_PER_GROUP} more`, "box", cls));
  return nodes;
}

export function consensusMermaid(r: Omit<ConsensusReport, "mermaid">, a: SideLabel, b: SideLabel): string {
  const same = r.fileAgreement.filter((f) => f.same).map((f) => f.path);
  const differ = r.fileAgreement.filter((f) => !f.same).map((f) => f.path);
  // No answer to compare on either side: say so rather than print a verdict and a percentage.
  const verdict =
    a.outcome !== "ok" && b.outcome !== "ok"
      ? "both failed"
      : `${r.verdict}, answers ${Math.round(r.answerSimilarity * 100)}% alike`;
  const chart = new Flowchart()
    .classDef("same", "fill:#cfc")
    .classDef("diff", "fill:#fcc")
    .chain("---", node("A", sideLabel(a)), node("V", verdict, "decision"), node("B", sideLabel(b)));
  if (same.length) chart.chain("---", "A", group("S", same, "same"), "B");
  if (differ.length) chart.chain("---", "A", group("D", differ, "diff"), "B");
  if (r.filesOnlyA.length) chart.chain("---", group("OA", r.filesOnlyA, "diff"), "A");
  if (r.filesOnlyB.length) chart.chain("---", "B", group("OB", r.filesOnlyB, "diff"));
  return chart.render();
}
