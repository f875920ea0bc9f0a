import type { BreakerThresholds, JobView } from "@vault-mcp/contract";
import { and, eq, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { capText } from "../../core/text.ts";
import { modelStats, stages, tasks, transcripts } from "../../schema/index.ts";
import { addSpendStatements, notWritten } from "../breakers.ts";
import { bound, type Db, type InsertSelect, type Statement, type Statements } from "../d1.ts";
import { type ExecutorClient, finishedJob, isFinished } from "../executor-client.ts";
import { COOLDOWN_AFTER_FAILURES, COOLDOWN_MS } from "../ladder.ts";
import { factsFromJob, type StageBase, type StageFacts, type StageStatus } from "./facts.ts";

/** What the write step hands back to the instance: ids and figures, never the output itself. */
export interface Written {
  stageId: string;
  ok: boolean;
  status: StageStatus;
  costUsd: number;
  errorKind: string | null;
  /** Why it failed, for the task's top-level error. */
  errorMessage: string | null;
  /** The executor started the run (see StageFacts.started). */
  started: boolean;
  /** The attempt's commit: only an attempt that changed something has work to deliver. */
  commit?: string | null;
}

const stageIdFor = (taskId: string, attempt: number): string => `${taskId}:${attempt}`;

/** What a stored stage says of its outcome, as `Written` carries it. */
const WRITTEN = {
  status: stages.status,
  costUsd: stages.costUsd,
  errorKind: stages.errorKind,
  errorMessage: stages.errorMessage,
  commit: stages.commit,
};

/**
 * The model_stats row of the stage's profile and kind: one more run (its spend, and on success its
 * spend again as success spend, which the chooser reads), and the failure streak that drives the
 * ladder's cooldown (a success ends both). Guarded like every statement of the write.
 */
function modelStatsStatement(d: Db, f: StageFacts, stageId: string, now: number): Statement {
  const ok = f.status === "succeeded";
  const row: InsertSelect<typeof modelStats> = {
    profile: bound(modelStats.profile, f.profile),
    taskKind: bound(modelStats.taskKind, f.kind),
    runs: bound(modelStats.runs, 1),
    successes: bound(modelStats.successes, ok ? 1 : 0),
    failures: bound(modelStats.failures, ok ? 0 : 1),
    totalCostUsd: bound(modelStats.totalCostUsd, f.costUsd),
    successCostUsd: bound(modelStats.successCostUsd, ok ? f.costUsd : 0),
    totalLatencyMs: bound(modelStats.totalLatencyMs, f.latencyMs),
    consecutiveFailures: bound(modelStats.consecutiveFailures, ok ? 0 : 1),
    lastFailureAt: bound(modelStats.lastFailureAt, ok ? null : now),
    cooldownUntil: bound(modelStats.cooldownUntil, !ok && COOLDOWN_AFTER_FAILURES <= 1 ? now + COOLDOWN_MS : null),
    updatedAt: bound(modelStats.updatedAt, now),
  };
  return d
    .insert(modelStats)
    .select(
      d
        .select(row)
        .from(tasks)
        .where(and(eq(tasks.id, f.taskId), notWritten(stageId))),
    )
    .onConflictDoUpdate({
      target: [modelStats.profile, modelStats.taskKind],
      set: {
        runs: sql`${modelStats.runs} + 1`,
        successes: sql`${modelStats.successes} + ${ok ? 1 : 0}`,
        failures: sql`${modelStats.failures} + ${ok ? 0 : 1}`,
        totalCostUsd: sql`${modelStats.totalCostUsd} + ${f.costUsd}`,
        successCostUsd: sql`${modelStats.successCostUsd} + ${ok ? f.costUsd : 0}`,
        totalLatencyMs: sql`${modelStats.totalLatencyMs} + ${f.latencyMs}`,
        ...(ok
          ? { consecutiveFailures: 0, cooldownUntil: null }
          : {
              consecutiveFailures: sql`${modelStats.consecutiveFailures} + 1`,
              lastFailureAt: now,
              cooldownUntil: sql`case when ${modelStats.consecutiveFailures} + 1 >= ${COOLDOWN_AFTER_FAILURES} then ${now + COOLDOWN_MS} else ${modelStats.cooldownUntil} end`,
            }),
        updatedAt: now,
      },
    });
}

/** The stage's final row: it replaces the `running` row dispatch wrote, never a final one. */
function stageRowStatement(d: Db, f: StageFacts, stageId: string, now: number): Statement {
  const result = {
    cli: f.cli,
    model: f.model,
    status: f.status,
    costUsd: f.costUsd,
    tokensIn: f.tokensIn,
    tokensOut: f.tokensOut,
    tokensCacheRead: f.tokensCacheRead,
    tokensCacheWrite: f.tokensCacheWrite,
    latencyMs: f.latencyMs,
    errorKind: f.errorKind,
    errorMessage: f.errorMessage,
    verifyOk: f.verifyOk,
    filesChanged: f.filesChanged,
    branch: f.branch,
    commit: f.commit,
    baseCommit: f.baseCommit,
    baseFetchedAt: f.baseFetchedAt,
    baseFresh: f.baseFresh,
    baseNote: f.baseNote,
    // Spend is counted when it is written: the same day the breaker totals put it in.
    createdAt: now,
  };
  return d
    .insert(stages)
    .values({
      id: stageId,
      taskId: f.taskId,
      attempt: f.attempt,
      taskKind: f.kind,
      profile: f.profile,
      jobId: f.jobId,
      note: f.note ?? null,
      ...result,
    })
    .onConflictDoUpdate({
      target: stages.id,
      // A write without a job id (an error stage) keeps the one dispatch recorded.
      set: { ...result, ...(f.jobId === null ? {} : { jobId: f.jobId }) },
      setWhere: eq(stages.status, "running"),
    });
}

/**
 * A succeeded attempt's change, on the task: its branch on the executor (delivery later replaces it
 * with the remote's `vault/<taskId>`), commit and diffstat. Nothing for any other attempt.
 */
function workOf(f: StageFacts) {
  if (f.status !== "succeeded" || f.commit === null) return {};
  return {
    branch: f.branch,
    commit: f.commit,
    diffFiles: f.filesChanged,
    diffAdded: f.diffAdded,
    diffDeleted: f.diffDeleted,
  };
}

/**
 * Every statement of one stage, for ONE D1 batch (one transaction): the spend totals, model_stats,
 * the task's totals, the transcripts (keyed by their own primary key) and, last, the stage row.
 * Each statement binds ≤ 45 parameters.
 */
export function stageStatements(d: Db, f: StageFacts, now: number, t: BreakerThresholds): Statements {
  const stageId = stageIdFor(f.taskId, f.attempt);
  const statements: Statements = addSpendStatements(d, {
    taskId: f.taskId,
    stageId,
    costUsd: f.costUsd,
    now,
    thresholds: t,
  });
  if (f.modelRun) statements.push(modelStatsStatement(d, f, stageId, now));
  statements.push(
    d
      .update(tasks)
      .set({
        costUsd: sql`${tasks.costUsd} + ${f.costUsd}`,
        attempts: sql`max(${tasks.attempts}, ${f.attempt})`,
        ...(f.compressed === null ? {} : { result: f.compressed }),
        ...workOf(f),
        updatedAt: now,
      })
      .where(and(eq(tasks.id, f.taskId), notWritten(stageId))),
  );
  for (const part of f.transcripts) {
    statements.push(
      d
        .insert(transcripts)
        .values({
          id: `${stageId}:${part.suffix}`,
          taskId: f.taskId,
          stageId,
          attempt: f.attempt,
          kind: part.kind,
          ...capText(part.text),
          createdAt: now,
        })
        .onConflictDoNothing({ target: transcripts.id }),
    );
  }
  statements.push(stageRowStatement(d, f, stageId, now));
  return statements;
}

/**
 * The attempt's row while its job runs, written before the job is sent: it names the executor the
 * job goes to (a retried dispatch sends it there again), and from dispatch on the job id, so a result
 * the instance could not write (D1 down past its retries, the instance gone) can be written later
 * from that executor by reconcile. Re-running it changes nothing.
 */
export function runningStageStatement(d: Db, base: StageBase, at: { executorId: string }, now: number) {
  return d
    .insert(stages)
    .values(runningStageRow(base, at.executorId, now))
    .onConflictDoNothing({ target: stages.id });
}

/** An attempt's `running` row before its job is sent: no model yet, the executor it goes to. */
export function runningStageRow(base: StageBase, executorId: string | SQL, now: number) {
  return {
    id: stageIdFor(base.taskId, base.attempt),
    taskId: base.taskId,
    attempt: base.attempt,
    taskKind: base.kind,
    profile: base.profile,
    cli: "none",
    model: "none",
    status: "running" as const,
    executorId,
    note: base.note ?? null,
    createdAt: now,
  };
}

/** The job the executor accepted, on the attempt's `running` row (a final row is never touched). */
export function jobStartedStatement(d: Db, base: StageBase, job: { jobId: string; promptVersion: string }) {
  return d
    .update(stages)
    .set({ jobId: job.jobId, promptVersion: job.promptVersion })
    .where(and(eq(stages.id, stageIdFor(base.taskId, base.attempt)), eq(stages.status, "running")));
}

/**
 * Writes the stage (one batch), then reads back what is stored: on a retried step, or when reconcile
 * wrote first, the first write's facts are the truth. A final row never changes, so the read after
 * the batch sees exactly what the batch or the earlier write left.
 */
export async function writeStage(db: D1Database, f: StageFacts, now: number, t: BreakerThresholds): Promise<Written> {
  const d = drizzle(db);
  const stageId = stageIdFor(f.taskId, f.attempt);
  await d.batch(stageStatements(d, f, now, t));
  const [row] = await d.select(WRITTEN).from(stages).where(eq(stages.id, stageId));
  const status = row?.status ?? f.status;
  return {
    stageId,
    ok: status === "succeeded",
    status,
    costUsd: row?.costUsd ?? f.costUsd,
    errorKind: row?.errorKind ?? f.errorKind,
    errorMessage: row?.errorMessage ?? f.errorMessage,
    started: f.started,
    commit: row ? row.commit : f.commit,
  };
}

export interface JobStageWrite {
  client: ExecutorClient;
  jobId: string;
  base: StageBase;
  now: number;
  thresholds: BreakerThresholds;
}

/**
 * Writes the finished job's stage. The callback usually wrote it already, from the full job it
 * carried (recordCallback): then this only reads the row back, without asking the executor. Else it
 * fetches the job (the event only woke the instance) and writes it. An `interrupted` row is read
 * from the executor again either way: whether its run had started decides the re-dispatch.
 */
export async function writeJobStage(db: D1Database, w: JobStageWrite): Promise<Written> {
  const stageId = stageIdFor(w.base.taskId, w.base.attempt);
  const [row] = await drizzle(db)
    .select(WRITTEN)
    .from(stages)
    .where(and(eq(stages.id, stageId), eq(stages.jobId, w.jobId)));
  if (row && row.status !== "running" && row.status !== "interrupted")
    return { stageId, ok: row.status === "succeeded", ...row, started: true };
  return writeStage(db, factsFromJob(await finishedJob(w.client, w.jobId), w.base), w.now, w.thresholds);
}

/**
 * The callback's finished job, written as its stage by the Worker that received it (the same
 * guarded batch as the write step, so whoever writes first counts it, once): the write step then
 * needs no round trip to the executor. Only for a `running` row of this very job; false otherwise.
 */
export async function recordCallback(
  db: D1Database,
  r: { view: JobView; taskId: string; attempt: number; now: number; thresholds: BreakerThresholds },
): Promise<boolean> {
  if (!isFinished(r.view)) return false;
  const [row] = await drizzle(db)
    .select({
      status: stages.status,
      jobId: stages.jobId,
      profile: stages.profile,
      kind: stages.taskKind,
      note: stages.note,
    })
    .from(stages)
    .where(eq(stages.id, stageIdFor(r.taskId, r.attempt)));
  if (row?.status !== "running" || row.jobId !== r.view.jobId) return false;
  const base = {
    taskId: r.taskId,
    attempt: r.attempt,
    kind: row.kind,
    profile: row.profile,
    ...(row.note ? { note: row.note } : {}),
  };
  await writeStage(db, factsFromJob(r.view, base), r.now, r.thresholds);
  return true;
}
