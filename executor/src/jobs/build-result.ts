/** A job's result from its sides' runs: one run, or two compared as a consensus. */
import type { JobBase, JobRequest, JobResult, RunResult, Verbosity, VerifyResult } from "@vault-mcp/contract";
import type { CompareRuns, Compress, WorktreeOutcome } from "../interfaces.ts";
import type { ResolvedSide } from "../profiles.ts";
import { ZERO_TOKENS } from "../tokens.ts";

export interface SideOutcome {
  side: ResolvedSide;
  run: RunResult;
  verify?: VerifyResult;
  collected: WorktreeOutcome;
  branch: string | null;
  /** The commit the side's worktree started from (absent when it got none). */
  baseCommit?: string;
}

export const EMPTY: WorktreeOutcome = { files: [], commit: null, diffs: {} };

/** A run that produced nothing of its own (no CLI output): no tokens, no cost unless the caller adds them. */
export function failedRun(side: ResolvedSide, kind: "crash" | "interrupted" | "setup", message: string): RunResult {
  return {
    ok: false,
    cli: side.cli,
    text: "",
    exitCode: null,
    signal: null,
    durationMs: 0,
    costUsd: 0,
    costSource: "computed",
    tokens: { ...ZERO_TOKENS },
    model: side.model,
    sessionId: null,
    truncated: false,
    error: { kind, message },
  };
}

/**
 * Where the job's worktrees started: the fetched base of a repo registered by URL (with `ref` the
 * request's own when it named one), or the resolved ref of a repo placed by hand. Both sides of a
 * consensus start from the same commit.
 */
export function jobBase(
  req: JobRequest,
  fetched: JobBase | null,
  outcomes: readonly SideOutcome[],
): JobBase | undefined {
  const commit = outcomes.find((o) => o.baseCommit !== undefined)?.baseCommit;
  if (commit === undefined) return undefined;
  if (fetched) return { ...fetched, ref: req.ref ?? fetched.ref, commit };
  return { ref: req.ref ?? "HEAD", commit, fetchedAt: null, fresh: false };
}

export function buildResult(
  req: JobRequest,
  outcomes: readonly SideOutcome[],
  compress: Compress,
  compareRuns: CompareRuns,
  fetched: JobBase | null = null,
): JobResult {
  const base = jobBase(req, fetched, outcomes);
  const verbosity: Verbosity = req.verbosity ?? "mermaid";
  const [a, b] = outcomes as [SideOutcome, SideOutcome | undefined];
  const profile = req.profile ?? "direct";
  const okOf = (o: SideOutcome) => o.run.ok && (o.verify?.ok ?? true);
  const single = compress(
    {
      profile: a.side.profile,
      run: a.run,
      files: a.collected.files,
      ...(a.verify ? { verify: a.verify } : {}),
      branch: a.branch,
      commit: a.collected.commit,
    },
    verbosity,
  );
  if (!b) {
    return {
      ok: okOf(a),
      profile,
      run: a.run,
      files: a.collected.files,
      branch: a.branch,
      commit: a.collected.commit,
      ...(base ? { base } : {}),
      ...(a.verify ? { verify: a.verify } : {}),
      compressed: single,
      costUsd: a.run.costUsd,
    };
  }
  const side = (o: SideOutcome) => ({
    profile: o.side.profile,
    run: o.run,
    files: o.collected.files,
    diffs: o.collected.diffs,
    ...(o.verify ? { verify: o.verify } : {}),
  });
  const consensus = compareRuns(side(a), side(b));
  const compressed =
    verbosity === "summary"
      ? `${consensus.verdict} · ${single}`
      : verbosity === "mermaid"
        ? consensus.mermaid
        : `${consensus.mermaid}\n\n${single}`;
  return {
    ok: okOf(a) && okOf(b) && consensus.verdict !== "disagree",
    profile,
    run: a.run,
    runB: b.run,
    files: a.collected.files,
    branch: a.branch,
    commit: a.collected.commit,
    ...(base ? { base } : {}),
    ...(a.verify ? { verify: a.verify } : {}),
    consensus,
    compressed,
    costUsd: a.run.costUsd + b.run.costUsd,
  };
}
