/**
 * Two profiles on one prompt: compare their answers, the files they changed (and how), and their
 * verify results, and say `agree`, `partial` or `disagree` with a diff Mermaid.
 *
 * Rules: `disagree` when exactly one run succeeded, when verify passed for one and failed for the
 * other, or when both changed files but none in common; `agree` when both have the same outcome and
 * verify result, changed the same files with the same diffs, and (when neither changed a file)
 * their answers are similar (answerSimilarity ≥ 0.6); else `partial`.
 */
import type { ConsensusReport } from "@vault-mcp/contract";
import { label } from "./compress/label.ts";
import type { ConsensusSide } from "./interfaces.ts";

export const SIMILAR_ANSWERS = 0.6;
const MAX_FILES_IN_DIAGRAM = 5;

function words(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[a-z0-9_]+/g) ?? []);
}

/** Sørensen–Dice over the sets of words: order-insensitive and cheap, enough to tell "same answer in other words" from "different answer". */
export function answerSimilarity(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.size === 0 && wb.size === 0) return 1;
  let common = 0;
  for (const w of wa) if (wb.has(w)) common += 1;
  return (2 * common) / (wa.size + wb.size);
}

/** A diff without its header lines and whitespace, so equal edits compare equal. */
function normalizeDiff(diff: string): string {
  return diff
    .split("\n")
    .filter((l) => !/^(diff --git|index |--- |\+\+\+ |@@)/.test(l))
    .map((l) => l.replace(/\s+/g, ""))
    .filter(Boolean)
    .join("\n");
}

export function compareRuns(a: ConsensusSide, b: ConsensusSide): ConsensusReport {
  const pathsA = new Set(a.files.map((f) => f.path));
  const pathsB = new Set(b.files.map((f) => f.path));
  const filesBoth = [...pathsA].filter((p) => pathsB.has(p)).sort();
  const filesOnlyA = [...pathsA].filter((p) => !pathsB.has(p)).sort();
  const filesOnlyB = [...pathsB].filter((p) => !pathsA.has(p)).sort();
  const fileAgreement = filesBoth.map((path) => ({ path, same: normalizeDiff(a.diffs[path] ?? "") === normalizeDiff(b.diffs[path] ?? "") }));
  const similarity = Math.round(answerSimilarity(a.run.text, b.run.text) * 1000) / 1000;
  const verify: [boolean | null, boolean | null] = [a.verify ? a.verify.ok : null, b.verify ? b.verify.ok : null];
  const okA = a.run.ok && verify[0] !== false;
  const okB = b.run.ok && verify[1] !== false;

  let verdict: ConsensusReport["verdict"];
  if (okA !== okB || (verify[0] !== null && verify[1] !== null && verify[0] !== verify[1]) || (pathsA.size > 0 && pathsB.size > 0 && filesBoth.length === 0)) {
    verdict = "disagree";
  } else if (
    filesOnlyA.length === 0 &&
    filesOnlyB.length === 0 &&
    fileAgreement.every((f) => f.same) &&
    (filesBoth.length > 0 || similarity >= SIMILAR_ANSWERS)
  ) {
    verdict = "agree";
  } else {
    verdict = "partial";
  }

  const report: Omit<ConsensusReport, "mermaid"> = {
    verdict,
    profiles: [a.profile, b.profile],
    answerSimilarity: similarity,
    filesBoth,
    filesOnlyA,
    filesOnlyB,
    fileAgreement,
    verify,
  };
  return { ...report, mermaid: diffMermaid(report, okA, okB) };
}

function diffMermaid(r: Omit<ConsensusReport, "mermaid">, okA: boolean, okB: boolean): string {
  const lines = [
    "flowchart LR",
    `  A["${label(`${r.profiles[0]} ${okA ? "ok" : "failed"}`)}"] --- V{"${r.verdict} ${Math.round(r.answerSimilarity * 100)} pct"}`,
    `  B["${label(`${r.profiles[1]} ${okB ? "ok" : "failed"}`)}"] --- V`,
  ];
  const more = (n: number) => (n > MAX_FILES_IN_DIAGRAM ? n - MAX_FILES_IN_DIAGRAM : 0);
  r.fileAgreement.slice(0, MAX_FILES_IN_DIAGRAM).forEach((f, i) => {
    lines.push(`  V --> S${i}["${label(f.path, 32)} ${f.same ? "same" : "differs"}"]:::${f.same ? "same" : "diff"}`);
  });
  r.filesOnlyA.slice(0, MAX_FILES_IN_DIAGRAM).forEach((p, i) => lines.push(`  A --> OA${i}["${label(p, 32)}"]:::diff`));
  r.filesOnlyB.slice(0, MAX_FILES_IN_DIAGRAM).forEach((p, i) => lines.push(`  B --> OB${i}["${label(p, 32)}"]:::diff`));
  const hidden = more(r.fileAgreement.length) + more(r.filesOnlyA.length) + more(r.filesOnlyB.length);
  if (hidden > 0) lines.push(`  V --> M["${hidden} more files"]`);
  lines.push("  classDef same fill:#d4f7d4", "  classDef diff fill:#f7d4d4");
  return lines.join("\n");
}
