import type { JobView } from "@vault-mcp/contract";
import { capText } from "../../worker/services/records.ts";
import type { Config } from "../../worker/config.ts";
import { addSpendStatements } from "../breakers.ts";
import { ExecutorError, getJob } from "../executor-client.ts";
import { COOLDOWN_AFTER_FAILURES, COOLDOWN_MS } from "../ladder.ts";

export type StageStatus = "succeeded" | "failed" | "timeout" | "error";

export interface StageFacts {
  taskId: string;
  attempt: number;
  kind: string;
  profile: string;
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
  /** The compressed result (Mermaid by default), kept on the task row. */
  compressed: string | null;
  transcript: string | null;
  consensus: string | null;
}

/** What the write step hands back to the instance: ids and figures, never the output itself. */
export interface Written {
  stageId: string;
  ok: boolean;
  status: StageStatus;
  costUsd: number;
  errorKind: string | null;
}

export const stageIdFor = (taskId: string, attempt: number): string => `${taskId}:${attempt}`;

/** Pure mapping from the executor's finished job to one stage row's facts. */
export function factsFromJob(view: JobView, base: { taskId: string; attempt: number; kind: string; profile: string }): StageFacts {
  const r = view.result;
  const run = r?.run;
  const status: StageStatus = !r ? "error" : r.ok ? "succeeded" : run?.error?.kind === "timeout" ? "timeout" : "failed";
  const tokens = [run, r?.runB].reduce(
    (acc, x) => (x ? { i: acc.i + x.tokens.input, o: acc.o + x.tokens.output, cr: acc.cr + x.tokens.cacheRead, cw: acc.cw + x.tokens.cacheWrite } : acc),
    { i: 0, o: 0, cr: 0, cw: 0 },
  );
  const errorMessage = !r
    ? `the executor's job ended ${view.status} with no result`
    : r.ok
      ? null
      : (run?.error?.message ?? (r.verify && !r.verify.ok ? `verify failed: ${r.verify.command.join(" ")} exited ${r.verify.exitCode}` : "the run failed"));
  return {
    ...base,
    cli: run?.cli ?? "unknown",
    model: run?.model ?? "unknown",
    status,
    costUsd: r?.costUsd ?? 0,
    tokensIn: tokens.i,
    tokensOut: tokens.o,
    tokensCacheRead: tokens.cr,
    tokensCacheWrite: tokens.cw,
    latencyMs: (run?.durationMs ?? 0) + (r?.runB?.durationMs ?? 0),
    errorKind: !r ? (view.status === "interrupted" ? "interrupted" : "crash") : r.ok ? null : (run?.error?.kind ?? (r.verify && !r.verify.ok ? "verify" : "crash")),
    errorMessage: errorMessage?.slice(0, 2000) ?? null,
    jobId: view.jobId,
    verifyOk: r?.verify ? r.verify.ok : null,
    filesChanged: r?.files.length ?? 0,
    compressed: r?.compressed ?? null,
    transcript: r ? JSON.stringify(r) : null,
    consensus: r?.consensus ? JSON.stringify(r.consensus) : null,
  };
}

/**
 * One D1 batch (one transaction) per stage. Every statement is guarded by "this stage row does not
 * exist yet" and the stage row is inserted last, so a retried step writes nothing twice.
 */
export function stageStatements(db: D1Database, f: StageFacts, now: number): D1PreparedStatement[] {
  const stageId = stageIdFor(f.taskId, f.attempt);
  const ok = f.status === "succeeded";
  const stmts: D1PreparedStatement[] = [...addSpendStatements(db, stageId, f.costUsd, now)];
  stmts.push(
    db
      .prepare(
        `INSERT INTO model_stats (profile, task_kind, runs, successes, failures, total_cost_usd, total_latency_ms, consecutive_failures, last_failure_at, cooldown_until, updated_at)
         SELECT ?1, ?2, 1, ?3, ?4, ?5, ?6, ?4, CASE WHEN ?4 = 1 THEN ?7 END, NULL, ?7 WHERE NOT EXISTS (SELECT 1 FROM stages WHERE id = ?8)
         ON CONFLICT(profile, task_kind) DO UPDATE SET
           runs = runs + 1, successes = successes + excluded.successes, failures = failures + excluded.failures,
           total_cost_usd = total_cost_usd + excluded.total_cost_usd, total_latency_ms = total_latency_ms + excluded.total_latency_ms,
           consecutive_failures = CASE WHEN excluded.successes = 1 THEN 0 ELSE consecutive_failures + 1 END,
           last_failure_at = COALESCE(excluded.last_failure_at, last_failure_at),
           cooldown_until = CASE WHEN excluded.successes = 0 AND consecutive_failures + 1 >= ?9 THEN ?7 + ?10 ELSE cooldown_until END,
           updated_at = excluded.updated_at`,
      )
      .bind(f.profile, f.kind, ok ? 1 : 0, ok ? 0 : 1, f.costUsd, f.latencyMs, now, stageId, COOLDOWN_AFTER_FAILURES, COOLDOWN_MS),
    db
      .prepare(
        `UPDATE tasks SET cost_usd = cost_usd + ?1, attempts = MAX(attempts, ?2), result = COALESCE(?3, result), updated_at = ?4
         WHERE id = ?5 AND NOT EXISTS (SELECT 1 FROM stages WHERE id = ?6)`,
      )
      .bind(f.costUsd, f.attempt, f.compressed, now, f.taskId, stageId),
  );
  for (const [suffix, kind, text] of [
    ["cli", "cli", f.transcript],
    ["consensus", "consensus", f.consensus],
  ] as const) {
    if (text === null) continue;
    const capped = capText(text);
    stmts.push(
      db
        .prepare(
          `INSERT INTO transcripts (id, task_id, stage_id, attempt, kind, content, bytes, truncated, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO NOTHING`,
        )
        .bind(`${stageId}:${suffix}`, f.taskId, stageId, f.attempt, kind, capped.content, capped.bytes, capped.truncated ? 1 : 0, now),
    );
  }
  stmts.push(
    db
      .prepare(
        `INSERT INTO stages (id, task_id, attempt, task_kind, profile, cli, model, status, cost_usd, tokens_in, tokens_out, tokens_cache_read,
           tokens_cache_write, latency_ms, error_kind, error_message, job_id, verify_ok, files_changed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) ON CONFLICT(id) DO NOTHING`,
      )
      .bind(
        stageId, f.taskId, f.attempt, f.kind, f.profile, f.cli, f.model, f.status, f.costUsd, f.tokensIn, f.tokensOut, f.tokensCacheRead,
        f.tokensCacheWrite, f.latencyMs, f.errorKind, f.errorMessage, f.jobId, f.verifyOk === null ? null : f.verifyOk ? 1 : 0, f.filesChanged, now,
      ),
  );
  return stmts;
}

export async function writeStage(db: D1Database, f: StageFacts, now: number): Promise<Written> {
  await db.batch(stageStatements(db, f, now));
  // Read back what is stored: on a retried step the first write's facts are the truth.
  const row = await db.prepare("SELECT status, cost_usd, error_kind FROM stages WHERE id = ?1").bind(stageIdFor(f.taskId, f.attempt)).first<{ status: StageStatus; cost_usd: number; error_kind: string | null }>();
  const status = row?.status ?? f.status;
  return { stageId: stageIdFor(f.taskId, f.attempt), ok: status === "succeeded", status, costUsd: row?.cost_usd ?? f.costUsd, errorKind: row?.error_kind ?? f.errorKind };
}

/** Fetches the finished job (the callback was only a wake-up) and writes its stage. */
export async function writeJobStage(
  db: D1Database,
  config: Config,
  jobId: string,
  base: { taskId: string; attempt: number; kind: string; profile: string },
  now: number,
): Promise<Written> {
  const view = await getJob(config, jobId);
  if (view.status === "queued" || view.status === "running") throw new ExecutorError(`job ${jobId} is still ${view.status}`, null, true);
  return writeStage(db, factsFromJob(view, base), now);
}

/** A stage for an attempt that never produced a job result (executor refused or unreachable). */
export function errorFacts(base: { taskId: string; attempt: number; kind: string; profile: string }, errorKind: string, message: string): StageFacts {
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
    jobId: null,
    verifyOk: null,
    filesChanged: 0,
    compressed: null,
    transcript: null,
    consensus: null,
  };
}
