/**
 * Two profiles on one prompt: compare their final answers, the files they changed (and how), and
 * their verify results; give a verdict and a diff Mermaid.
 *
 * A side is *usable* when its run succeeded and its verification (if any) did not fail.
 * Verdict rules, first match wins:
 *   disagree  1. exactly one side is usable (one failed, or verify passed on one side only);
 *             2. both runs failed: there is no answer to corroborate;
 *             3. at least one side changed files and no file was changed by both (disjoint edits,
 *                or one side edited while the other did not);
 *             4. neither changed a file and the answers are dissimilar (similarity < 0.3).
 *   agree     both usable, the same set of files, every shared file changed the same way (see
 *             consensus/diff.ts) and, when no file changed, similar answers (similarity ≥ 0.6).
 *             With files, the edits are the evidence and the prose around them may differ.
 *   partial   everything else: overlapping but unequal file sets, a shared file changed
 *             differently, answers in between, or both runs done but both failing verification.
 * The similarity measure and its thresholds are explained in consensus/similarity.ts.
 */
import type { ConsensusReport, ConsensusVerdict, RunResult } from "@vault-mcp/contract";
import { sameDiff } from "./consensus/diff.ts";
import { consensusMermaid } from "./consensus/mermaid.ts";
import { answerSimilarity } from "./consensus/similarity.ts";
import type { CompareRuns, ConsensusSide } from "./interfaces.ts";

export { changedLines, sameDiff } from "./consensus/diff.ts";
export { answerSimilarity, contentWords } from "./consensus/similarity.ts";

const SIMILAR_ANSWERS = 0.6;
const DISSIMILAR_ANSWERS = 0.3;

/** What the verdict is decided from; exported so the rules can be tested one by one. */
export interface VerdictFacts {
  runOk: readonly [boolean, boolean];
  verify: readonly [boolean | null, boolean | null];
  filesBoth: number;
  filesOnlyA: number;
  filesOnlyB: number;
  /** Every file changed by both was changed the same way. */
  allSame: boolean;
  answerSimilarity: number;
}

export function verdict(f: VerdictFacts): ConsensusVerdict {
  const usableA = f.runOk[0] && f.verify[0] !== false;
  const usableB = f.runOk[1] && f.verify[1] !== false;
  const anyFiles = f.filesBoth + f.filesOnlyA + f.filesOnlyB > 0;
  if (usableA !== usableB) return "disagree";
  if (!f.runOk[0] && !f.runOk[1]) return "disagree";
  if (anyFiles && f.filesBoth === 0) return "disagree";
  if (!anyFiles && f.answerSimilarity < DISSIMILAR_ANSWERS) return "disagree";
  const sameFiles = f.filesOnlyA === 0 && f.filesOnlyB === 0 && f.allSame;
  if (usableA && usableB && sameFiles && (anyFiles || f.answerSimilarity >= SIMILAR_ANSWERS)) return "agree";
  return "partial";
}

const outcome = (run: RunResult): string => (run.ok ? "ok" : (run.error?.kind ?? "failed"));

export const compareRuns: CompareRuns = (a: ConsensusSide, b: ConsensusSide): ConsensusReport => {
  const pathsA = new Set(a.files.map((f) => f.path));
  const pathsB = new Set(b.files.map((f) => f.path));
  const filesBoth = [...pathsA].filter((p) => pathsB.has(p)).sort();
  const filesOnlyA = [...pathsA].filter((p) => !pathsB.has(p)).sort();
  const filesOnlyB = [...pathsB].filter((p) => !pathsA.has(p)).sort();
  const fileAgreement = filesBoth.map((path) => ({ path, same: sameDiff(a.diffs[path], b.diffs[path]) }));
  // Two failed runs have no answers to compare: two empty texts would score as "the same answer".
  const bothFailed = !a.run.ok && !b.run.ok;
  const similarity = bothFailed ? 0 : Math.round(answerSimilarity(a.run.text, b.run.text) * 1000) / 1000;
  const verify: [boolean | null, boolean | null] = [a.verify ? a.verify.ok : null, b.verify ? b.verify.ok : null];
  const report: Omit<ConsensusReport, "mermaid"> = {
    verdict: verdict({
      runOk: [a.run.ok, b.run.ok],
      verify,
      filesBoth: filesBoth.length,
      filesOnlyA: filesOnlyA.length,
      filesOnlyB: filesOnlyB.length,
      allSame: fileAgreement.every((f) => f.same),
      answerSimilarity: similarity,
    }),
    profiles: [a.profile, b.profile],
    answerSimilarity: similarity,
    filesBoth,
    filesOnlyA,
    filesOnlyB,
    fileAgreement,
    verify,
  };
  const mermaid = consensusMermaid(
    report,
    { profile: a.profile, outcome: outcome(a.run), verify: verify[0] },
    { profile: b.profile, outcome: outcome(b.run), verify: verify[1] },
  );
  return { ...report, mermaid };
};
