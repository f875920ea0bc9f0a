/**
 * The consensus diff as a compact flowchart in lanes: A's own files | run A | shared files and the
 * verdict | run B | B's own files. Layout comes from edge direction alone (`X --- A` puts X left of
 * A, `A --- S --- B` puts S between them), which is far cheaper in tokens than subgraphs. The class
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
import { label, pathLabel } from "../compress/label.ts";

/** Files named per group; the rest become one "+N more" node, so the diagram stays small whatever the runs did. */
export const FILES_PER_GROUP = 4;

export interface SideLabel {
  profile: string;
  /** `ok`, or what went wrong (an ErrorKind or `failed`). */
  outcome: string;
  verify: boolean | null;
}

function sideLabel(s: SideLabel): string {
  const verify = s.verify === null ? "" : s.verify ? ", verify pass" : ", verify fail";
  return `${label(s.profile, 24)} ${label(s.outcome, 16)}${verify}`;
}

/** `P0["a"]:::cls & P1["b"]:::cls`, with a `+N more` node when the group is longer than FILES_PER_GROUP. */
function group(prefix: string, paths: readonly string[], cls: "same" | "diff"): string {
  const nodes = paths.slice(0, FILES_PER_GROUP).map((p, i) => `${prefix}${i}["${pathLabel(p, 32)}"]:::${cls}`);
  if (paths.length > FILES_PER_GROUP) nodes.push(`${prefix}M["+${paths.length - FILES_PER_GROUP} more"]:::${cls}`);
  return nodes.join(" & ");
}

export function consensusMermaid(r: Omit<ConsensusReport, "mermaid">, a: SideLabel, b: SideLabel): string {
  const same = r.fileAgreement.filter((f) => f.same).map((f) => f.path);
  const differ = r.fileAgreement.filter((f) => !f.same).map((f) => f.path);
  // No answer to compare on either side: say so rather than print a verdict and a percentage.
  const verdict =
    a.outcome !== "ok" && b.outcome !== "ok"
      ? "both failed"
      : `${r.verdict}, answers ${Math.round(r.answerSimilarity * 100)}% alike`;
  const lines = ["flowchart LR", `  A["${sideLabel(a)}"] --- V{"${verdict}"} --- B["${sideLabel(b)}"]`];
  if (same.length) lines.push(`  A --- ${group("S", same, "same")} --- B`);
  if (differ.length) lines.push(`  A --- ${group("D", differ, "diff")} --- B`);
  if (r.filesOnlyA.length) lines.push(`  ${group("OA", r.filesOnlyA, "diff")} --- A`);
  if (r.filesOnlyB.length) lines.push(`  B --- ${group("OB", r.filesOnlyB, "diff")}`);
  // Only the classes in use: an unused classDef is valid but costs tokens.
  if (same.length) lines.push("  classDef same fill:#cfc");
  if (differ.length || r.filesOnlyA.length || r.filesOnlyB.length) lines.push("  classDef diff fill:#fcc");
  return lines.join("\n");
}
