/** Pure mapping from the executor's finished job (or a failed attempt) to one stage row and its transcripts. */
import type { JobBase, JobView, ProfileName, RunError, StageStatus } from "@vault-mcp/contract";
import { spanText } from "../../core/text.ts";
import type { ExecutorFailure } from "../executor-client.ts";

export type { StageStatus };

export interface StageBase {
  taskId: string;
  attempt: number;
  kind: string;
  profile: ProfileName;
  /** Why this rung runs, on the attempt the chooser picked (stages.note); kept by every later write. */
  note?: string;
}

export interface TranscriptPart {
  /** Suffix of the transcript id `<stage id>:<suffix>`. */
  suffix: string;
  kind: "cli" | "verify" | "consensus";
  text: string;
}

export interface StageFacts extends StageBase {
  cli: string;
  model: string;
  status: StageStatus;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
  tokensCacheRead: number;
  tokensCacheWrite: number;
  latencyMs: number;
  errorKind: string | null;
  errorMessage: string | null;
  jobId: string | null;
  verifyOk: boolean | null;
  filesChanged: number;
  branch: string | null;
  commit: string | null;
  /** Lines added and deleted over the changed files (binary files count 0). */
  diffAdded: number;
  diffDeleted: number;
  /** Where the worktree started (stages.base_*); all null when the job got none. */
  baseCommit: string | null;
  baseFetchedAt: number | null;
  baseFresh: boolean | null;
  baseNote: string | null;
  /** The compressed result (Mermaid by default), kept on the task row. */
  compressed: string | null;
  /**
   * A model really answered (or failed to): only then does the profile's model_stats row (and its
   * cooldown) move. Setup problems, refused credentials, budget stops and interruptions say nothing
   * about the model.
   */
  modelRun: boolean;
  /**
   * The executor started the run (the job has a start time). A job that never left the executor's
   * queue and came back `interrupted` is dispatched again without counting as an interrupted run.
   */
  started: boolean;
  transcripts: TranscriptPart[];
}

/** Error kinds that say nothing about the model's quality (see `modelRun`). */
const NOT_THE_MODEL: ReadonlySet<RunError["kind"]> = new Set(["setup", "auth", "budget", "interrupted"]);

function statusOf(view: JobView): StageStatus {
  const r = view.result;
  if (view.status === "interrupted") return "interrupted";
  if (!r) return "error";
  if (r.ok) return "succeeded";
  switch (r.run.error?.kind ?? r.runB?.error?.kind) {
    case "setup":
      return "skipped";
    case "budget":
      return "budget";
    case "timeout":
      return "timeout";
    default:
      return "failed";
  }
}

/** Why the job did not succeed, as the stage's error kind and message; both null when it did. */
function failureOf(view: JobView): { kind: string | null; message: string | null } {
  const r = view.result;
  if (r?.ok) return { kind: null, message: null };
  if (view.status === "interrupted")
    return {
      kind: "interrupted",
      message:
        view.startedAt === null
          ? "the executor restarted before the run started"
          : `the executor restarted during the run (${r?.run.error?.message ?? "no output kept"})`,
    };
  if (!r) return { kind: "crash", message: `the executor's job ended ${view.status} with no result` };
  const error = r.run.error ?? r.runB?.error;
  if (error) return { kind: error.kind, message: error.message };
  if (r.verify && !r.verify.ok)
    return { kind: "verify", message: `verify failed: ${r.verify.command.join(" ")} exited ${r.verify.exitCode}` };
  return { kind: "crash", message: "the run failed" };
}

const NO_BASE = { baseCommit: null, baseFetchedAt: null, baseFresh: null, baseNote: null } as const;

/**
 * The job's base as stage columns. A stale one (its fetch failed, so the job ran on an older commit)
 * gets a note saying how old that commit's fetch was when the job started, and why the fetch failed.
 */
export function baseFacts(
  base: JobBase | undefined,
  startedAt: string | null,
): Pick<StageFacts, "baseCommit" | "baseFetchedAt" | "baseFresh" | "baseNote"> {
  if (!base) return NO_BASE;
  const fetchedAt = base.fetchedAt === null ? null : Date.parse(base.fetchedAt);
  const fetched = fetchedAt === null || Number.isNaN(fetchedAt) ? null : fetchedAt;
  const started = startedAt === null ? Number.NaN : Date.parse(startedAt);
  const stale = fetched !== null && !base.fresh;
  const age = stale && !Number.isNaN(started) ? ` fetched ${spanText(started - fetched)} before the job started` : "";
  return {
    baseCommit: base.commit,
    baseFetchedAt: fetched,
    baseFresh: fetched === null ? null : base.fresh,
    baseNote: stale
      ? `stale base: ran on ${base.ref} @ ${base.commit.slice(0, 12)}${age}, because ${base.fetchError ?? "the fetch failed"}`.slice(
          0,
          2000,
        )
      : null,
  };
}

export function factsFromJob(view: JobView, base: StageBase): StageFacts {
  const r = view.result;
  const run = r?.run;
  const status = statusOf(view);
  const tokens = [run, r?.runB].reduce(
    (acc, x) =>
      x
        ? {
            i: acc.i + x.tokens.input,
            o: acc.o + x.tokens.output,
            cr: acc.cr + x.tokens.cacheRead,
            cw: acc.cw + x.tokens.cacheWrite,
          }
        : acc,
    { i: 0, o: 0, cr: 0, cw: 0 },
  );
  const failure = failureOf(view);
  const runKind = run?.error?.kind ?? r?.runB?.error?.kind;
  const transcripts: TranscriptPart[] = [];
  if (run) transcripts.push({ suffix: "cli", kind: "cli", text: run.text });
  if (r?.runB) transcripts.push({ suffix: "cli-b", kind: "cli", text: r.runB.text });
  if (r?.verify) transcripts.push({ suffix: "verify", kind: "verify", text: r.verify.output });
  if (r?.consensus) transcripts.push({ suffix: "consensus", kind: "consensus", text: JSON.stringify(r.consensus) });
  return {
    ...base,
    cli: run?.cli ?? "none",
    model: run?.model ?? "none",
    status,
    costUsd: r?.costUsd ?? 0,
    tokensIn: tokens.i,
    tokensOut: tokens.o,
    tokensCacheRead: tokens.cr,
    tokensCacheWrite: tokens.cw,
    latencyMs: (run?.durationMs ?? 0) + (r?.runB?.durationMs ?? 0),
    errorKind: failure.kind,
    errorMessage: failure.message?.slice(0, 2000) ?? null,
    jobId: view.jobId,
    verifyOk: r?.verify ? r.verify.ok : null,
    filesChanged: r?.files.length ?? 0,
    branch: r?.branch ?? null,
    commit: r?.commit ?? null,
    diffAdded: (r?.files ?? []).reduce((n, f) => n + (f.added ?? 0), 0),
    diffDeleted: (r?.files ?? []).reduce((n, f) => n + (f.deleted ?? 0), 0),
    ...baseFacts(r?.base, view.startedAt ?? view.createdAt),
    compressed: r?.compressed ?? null,
    modelRun: r !== null && view.status !== "interrupted" && !(runKind && NOT_THE_MODEL.has(runKind)),
    started: view.startedAt !== null,
    transcripts,
  };
}

/** A stage for an attempt that produced no job result (the executor refused, was unreachable, …). */
export function errorFacts(
  base: StageBase,
  errorKind: string,
  message: string,
  jobId: string | null = null,
): StageFacts {
  return {
    ...base,
    cli: "none",
    model: "none",
    status: "error",
    costUsd: 0,
    tokensIn: 0,
    tokensOut: 0,
    tokensCacheRead: 0,
    tokensCacheWrite: 0,
    latencyMs: 0,
    errorKind,
    errorMessage: message.slice(0, 2000),
    jobId,
    verifyOk: null,
    filesChanged: 0,
    branch: null,
    commit: null,
    diffAdded: 0,
    diffDeleted: 0,
    ...NO_BASE,
    compressed: null,
    modelRun: false,
    started: false,
    transcripts: [],
  };
}

/** The `error_kind` of a stage whose attempt failed at the executor's door, not in a model run. */
export function stageErrorKind(failure: ExecutorFailure): string {
  switch (failure) {
    case "busy":
      return "rate_limit";
    case "server":
      return "executor";
    case "running":
      return "timeout";
    case "auth":
    case "refused":
    case "unreachable":
    case "bad_answer":
      return failure;
  }
}
