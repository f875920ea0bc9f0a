import type { BreakerThresholds } from "@vault-mcp/contract";
import { capText } from "../../core/text.ts";
import { addSpendStatements } from "../breakers.ts";
import { type ExecutorClient, finishedJob } from "../executor-client.ts";
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
}

export const stageIdFor = (taskId: string, attempt: number): string => `${taskId}:${attempt}`;

/**
 * "This attempt has no final row yet": no row, or the `running` row dispatch wrote. Every statement
 * of a write is guarded by it and the stage row comes last, so however often a write runs (a retried
 * step, reconcile racing the instance) its cost, run and row land once.
 */
const NOT_WRITTEN = "NOT EXISTS (SELECT 1 FROM stages WHERE id = ?stage AND status <> 'running')";

/**
 * Every statement of one stage, for ONE D1 batch (one transaction); transcripts are also keyed by
 * their own primary key. Each statement binds ≤ 24 parameters.
 */
export function stageStatements(
  db: D1Database,
  f: StageFacts,
  now: number,
  t: BreakerThresholds,
): D1PreparedStatement[] {
  const stageId = stageIdFor(f.taskId, f.attempt);
  const ok = f.status === "succeeded";
  const stmts: D1PreparedStatement[] = [...addSpendStatements(db, stageId, f.costUsd, now, t)];
  if (f.modelRun) {
    // Consecutive failures drive the ladder's cooldown; a success ends both.
    stmts.push(
      db
        .prepare(
          `INSERT INTO model_stats (profile, task_kind, runs, successes, failures, total_cost_usd, total_latency_ms, consecutive_failures, last_failure_at, cooldown_until, updated_at)
           SELECT ?1, ?2, 1, ?3, ?4, ?5, ?6, ?4, CASE WHEN ?4 = 1 THEN ?7 END, CASE WHEN ?4 >= ?9 THEN ?7 + ?10 END, ?7 WHERE ${NOT_WRITTEN.replace("?stage", "?8")}
           ON CONFLICT(profile, task_kind) DO UPDATE SET
             runs = runs + 1, successes = successes + excluded.successes, failures = failures + excluded.failures,
             total_cost_usd = total_cost_usd + excluded.total_cost_usd, total_latency_ms = total_latency_ms + excluded.total_latency_ms,
             consecutive_failures = CASE WHEN excluded.successes = 1 THEN 0 ELSE consecutive_failures + 1 END,
             last_failure_at = COALESCE(excluded.last_failure_at, last_failure_at),
             cooldown_until = CASE WHEN excluded.successes = 1 THEN NULL
                                   WHEN consecutive_failures + 1 >= ?9 THEN ?7 + ?10 ELSE cooldown_until END,
             updated_at = excluded.updated_at`,
        )
        .bind(
          f.profile,
          f.kind,
          ok ? 1 : 0,
          ok ? 0 : 1,
          f.costUsd,
          f.latencyMs,
          now,
          stageId,
          COOLDOWN_AFTER_FAILURES,
          COOLDOWN_MS,
        ),
    );
  }
  stmts.push(
    db
      .prepare(
        `UPDATE tasks SET cost_usd = cost_usd + ?1, attempts = MAX(attempts, ?2), result = COALESCE(?3, result), updated_at = ?4
         WHERE id = ?5 AND ${NOT_WRITTEN.replace("?stage", "?6")}`,
      )
      .bind(f.costUsd, f.attempt, f.compressed, now, f.taskId, stageId),
  );
  for (const part of f.transcripts) {
    const capped = capText(part.text);
    stmts.push(
      db
        .prepare(
          `INSERT INTO transcripts (id, task_id, stage_id, attempt, kind, content, bytes, truncated, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO NOTHING`,
        )
        .bind(
          `${stageId}:${part.suffix}`,
          f.taskId,
          stageId,
          f.attempt,
          part.kind,
          capped.content,
          capped.bytes,
          capped.truncated ? 1 : 0,
          now,
        ),
    );
  }
  stmts.push(
    db
      .prepare(
        `INSERT INTO stages (id, task_id, attempt, task_kind, profile, cli, model, status, cost_usd, tokens_in, tokens_out, tokens_cache_read,
           tokens_cache_write, latency_ms, error_kind, error_message, job_id, verify_ok, files_changed, branch, "commit", created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
         ON CONFLICT(id) DO UPDATE SET cli = excluded.cli, model = excluded.model, status = excluded.status,
           cost_usd = excluded.cost_usd, tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out,
           tokens_cache_read = excluded.tokens_cache_read, tokens_cache_write = excluded.tokens_cache_write,
           latency_ms = excluded.latency_ms, error_kind = excluded.error_kind, error_message = excluded.error_message,
           job_id = COALESCE(excluded.job_id, stages.job_id), verify_ok = excluded.verify_ok,
           files_changed = excluded.files_changed, branch = excluded.branch, "commit" = excluded."commit",
           -- spend is counted when it is written: the same day the breaker totals put it in
           created_at = excluded.created_at
         WHERE stages.status = 'running'`,
      )
      .bind(
        stageId,
        f.taskId,
        f.attempt,
        f.kind,
        f.profile,
        f.cli,
        f.model,
        f.status,
        f.costUsd,
        f.tokensIn,
        f.tokensOut,
        f.tokensCacheRead,
        f.tokensCacheWrite,
        f.latencyMs,
        f.errorKind,
        f.errorMessage,
        f.jobId,
        f.verifyOk === null ? null : f.verifyOk ? 1 : 0,
        f.filesChanged,
        f.branch,
        f.commit,
        now,
      ),
  );
  return stmts;
}

/**
 * The attempt's row while its job runs: the job id is in D1 from dispatch on, so a result the
 * instance could not write (D1 down past its retries, the instance gone) can be written later from
 * the executor by reconcile. Re-running it changes nothing.
 */
export function runningStageStatement(
  db: D1Database,
  base: StageBase,
  job: { jobId: string; promptVersion: string },
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO stages (id, task_id, attempt, task_kind, profile, cli, model, status, job_id, prompt_version, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, 'none', 'none', 'running', ?6, ?7, ?8) ON CONFLICT(id) DO NOTHING`,
    )
    .bind(
      stageIdFor(base.taskId, base.attempt),
      base.taskId,
      base.attempt,
      base.kind,
      base.profile,
      job.jobId,
      job.promptVersion,
      now,
    );
}

/** Writes the stage and reads back what is stored: on a retried step the first write's facts are the truth. */
export async function writeStage(db: D1Database, f: StageFacts, now: number, t: BreakerThresholds): Promise<Written> {
  const stageId = stageIdFor(f.taskId, f.attempt);
  const results = await db.batch<unknown>([
    ...stageStatements(db, f, now, t),
    db
      .prepare(
        "SELECT status, cost_usd AS costUsd, error_kind AS errorKind, error_message AS errorMessage FROM stages WHERE id = ?1",
      )
      .bind(stageId),
  ]);
  const row = (results.at(-1)?.results[0] ?? null) as Omit<Written, "stageId" | "ok"> | null;
  const status = row?.status ?? f.status;
  return {
    stageId,
    ok: status === "succeeded",
    status,
    costUsd: row?.costUsd ?? f.costUsd,
    errorKind: row?.errorKind ?? f.errorKind,
    errorMessage: row?.errorMessage ?? f.errorMessage,
  };
}

/** Fetches the finished job (the callback only woke the instance) and writes its stage. */
export async function writeJobStage(
  db: D1Database,
  client: ExecutorClient,
  jobId: string,
  base: StageBase,
  now: number,
  t: BreakerThresholds,
): Promise<Written> {
  return writeStage(db, factsFromJob(await finishedJob(client, jobId), base), now, t);
}
