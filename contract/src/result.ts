import { z } from "zod";
import { JobStatus } from "./job.ts";
import { CliName, ErrorKind, ProfileName } from "./profiles.ts";

export const Tokens = z.strictObject({
  input: z.int().nonnegative(),
  output: z.int().nonnegative(),
  cacheRead: z.int().nonnegative(),
  cacheWrite: z.int().nonnegative(),
});
export type Tokens = z.infer<typeof Tokens>;

export const RunError = z.strictObject({ kind: ErrorKind, message: z.string().max(4000) });
export type RunError = z.infer<typeof RunError>;

/** One CLI run, normalized across claude, codex and gemini. */
export const RunResult = z.strictObject({
  ok: z.boolean(),
  cli: CliName,
  text: z.string(),
  exitCode: z.int().nullable(),
  signal: z.string().nullable(),
  durationMs: z.int().nonnegative(),
  costUsd: z.number().nonnegative(),
  /**
   * Where `costUsd` comes from. `reported`: the CLI's own figure (claude's result JSON). `computed`:
   * tokens (reported at the end, or read from the CLI's session log for a run that was killed) ×
   * the executor's price table. `bound`: the cost is unknown, and `costUsd` is an upper bound, not a
   * measurement: a run that was killed (timeout, budget stop, shutdown, a signal) before it reported
   * usage, and whose session log could not be read, is counted at its budget cap (the job's
   * `maxBudgetUsd`, half of it for a consensus side) or, for a job without one, the executor's
   * UNKNOWN_COST_USD (executor/README.md), never at the $0 it reported. `bound` came later than
   * the other two: a Worker parses results with this schema, so deploy the Worker before an executor
   * that may send it.
   */
  costSource: z.enum(["reported", "computed", "bound"]),
  tokens: Tokens,
  model: z.string(),
  sessionId: z.string().nullable(),
  /** True when stored output was cut at the cap (1 MiB). */
  truncated: z.boolean(),
  error: RunError.optional(),
});
export type RunResult = z.infer<typeof RunResult>;

export const ChangedFile = z.strictObject({
  path: z.string(),
  /** null for binary files (git prints '-'). */
  added: z.int().nonnegative().nullable(),
  deleted: z.int().nonnegative().nullable(),
});
export type ChangedFile = z.infer<typeof ChangedFile>;

export const VerifyResult = z.strictObject({
  command: z.array(z.string()),
  ok: z.boolean(),
  exitCode: z.int().nullable(),
  durationMs: z.int().nonnegative(),
  output: z.string(),
});
export type VerifyResult = z.infer<typeof VerifyResult>;

export const ConsensusVerdict = z.enum(["agree", "partial", "disagree"]);
export type ConsensusVerdict = z.infer<typeof ConsensusVerdict>;

export const ConsensusReport = z.strictObject({
  verdict: ConsensusVerdict,
  profiles: z.tuple([z.string(), z.string()]),
  answerSimilarity: z.number().min(0).max(1),
  filesBoth: z.array(z.string()),
  filesOnlyA: z.array(z.string()),
  filesOnlyB: z.array(z.string()),
  /** Files both changed, and whether their diffs are the same. */
  fileAgreement: z.array(z.strictObject({ path: z.string(), same: z.boolean() })),
  verify: z.tuple([z.boolean().nullable(), z.boolean().nullable()]),
  mermaid: z.string(),
});
export type ConsensusReport = z.infer<typeof ConsensusReport>;

/**
 * The commit a job's worktree started from. For a repo registered by URL (`source`), the executor
 * fetched `ref` (the default branch) before the job: `fresh` says that fetch succeeded; when it
 * failed, the job ran on the last fetched commit, `fetchedAt` says when that was and `fetchError`
 * why this fetch failed. For a repo placed by hand nothing is fetched: `fetchedAt` null, `fresh` false.
 */
export const JobBase = z.strictObject({
  ref: z.string(),
  commit: z.string(),
  /** ISO time of the fetch that brought `commit`; null for a repo without source. */
  fetchedAt: z.string().nullable(),
  fresh: z.boolean(),
  fetchError: z.string().max(2000).optional(),
});
export type JobBase = z.infer<typeof JobBase>;

/** What one finished job produced: the run, the worktree's outcome, and the compressed view. */
export const JobResult = z.strictObject({
  ok: z.boolean(),
  profile: z.union([ProfileName, z.literal("direct")]),
  run: RunResult,
  /** The second run of a consensus job. */
  runB: RunResult.optional(),
  files: z.array(ChangedFile),
  branch: z.string().nullable(),
  commit: z.string().nullable(),
  /** Where the worktree started (absent when no worktree was made, and on jobs from before it existed). */
  base: JobBase.optional(),
  verify: VerifyResult.optional(),
  consensus: ConsensusReport.optional(),
  /** The run compressed at the requested verbosity (Mermaid by default). */
  compressed: z.string(),
  /** Total cost of every CLI run in this job. */
  costUsd: z.number().nonnegative(),
});
export type JobResult = z.infer<typeof JobResult>;

/** GET /jobs/:id, the 202 of POST /jobs, and the callback body. */
export const JobView = z.strictObject({
  jobId: z.string(),
  jobKey: z.string(),
  status: JobStatus,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  result: JobResult.nullable(),
});
export type JobView = z.infer<typeof JobView>;

/** Body of every non-2xx answer from the executor and the Worker's REST API. */
export const WireError = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string() }),
});
export type WireError = z.infer<typeof WireError>;
