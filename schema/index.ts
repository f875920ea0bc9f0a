/**
 * D1 tables. Every table and column is described in schema/README.md; change both together and run
 * `npm run db:generate` (drizzle-kit writes migrations/). No ON DELETE CASCADE anywhere: D1 ignores
 * `PRAGMA foreign_keys=OFF`, so a later table rebuild would delete child rows.
 */
import {
  AUTO,
  DecisionKind,
  DeliverSetting,
  DeliveryState,
  ExecutorChoice,
  type PoolReadiness,
  type ProfileChoice,
  ProfileName,
  StageStatus,
  TaskStatus,
  Verbosity,
} from "@vault-mcp/contract";
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** A contract enum's values in the non-empty tuple form drizzle's `enum` option wants. */
function oneOf<T extends string>(values: readonly T[]): [T, ...T[]] {
  const [first, ...rest] = values;
  if (first === undefined) throw new Error("an enum column needs at least one value");
  return [first, ...rest];
}

/** Milliseconds since the epoch; set by the writer (deterministic inside workflow steps). */
const ms = (name: string) => integer(name, { mode: "number" });

export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    status: text("status", { enum: oneOf(TaskStatus.options) }).notNull(),
    kind: text("kind").notNull().default("general"),
    prompt: text("prompt").notNull(),
    repo: text("repo").notNull(),
    ref: text("ref"),
    profile: text("profile", { enum: oneOf<ProfileChoice>([AUTO, ...ProfileName.options]) })
      .notNull()
      .default(AUTO),
    verbosity: text("verbosity", { enum: oneOf(Verbosity.options) })
      .notNull()
      .default("mermaid"),
    verify: text("verify", { mode: "json" }).$type<string[]>(),
    budgetUsd: real("budget_usd"),
    spec: text("spec"),
    costUsd: real("cost_usd").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    result: text("result"),
    error: text("error"),
    flags: text("flags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** `executor` of the original call shape (a CLI run once, or consensus); null when a profile was asked. */
    executor: text("executor", { enum: oneOf(ExecutorChoice.options) }),
    /** Whether a failed run escalates up the ladder (false: `executor` given without profile `auto`). */
    climb: integer("climb", { mode: "boolean" }).notNull().default(true),
    /** The caller's idempotency key, and a hash of the request it came with (another body → 409). */
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    /** The event type the instance waits for now (`human-2`, `budget-1`); cleared by the one answer. */
    waitingFor: text("waiting_for"),
    replayOf: text("replay_of"),
    /** The first task of a replay chain (null for a task that is not a replay): they share one budget. */
    replayRoot: text("replay_root"),
    replayKey: text("replay_key"),
    /** What happens to the work: asked with the task, else the repo's default, set when it starts. */
    deliver: text("deliver", { enum: oneOf(DeliverSetting.options) }),
    /** The succeeding attempt's change: `vault/<taskId>` on the remote once delivered, else the executor's branch. */
    branch: text("branch"),
    commit: text("commit"),
    diffFiles: integer("diff_files"),
    diffAdded: integer("diff_added"),
    diffDeleted: integer("diff_deleted"),
    prUrl: text("pr_url"),
    prNumber: integer("pr_number"),
    delivery: text("delivery", { enum: oneOf(DeliveryState.options) }),
    deliveryError: text("delivery_error"),
    deliveredAt: ms("delivered_at"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    closedAt: ms("closed_at"),
  },
  (t) => [
    index("tasks_status_created_idx").on(t.status, t.createdAt),
    index("tasks_created_idx").on(t.createdAt),
    uniqueIndex("tasks_replay_key_uq").on(t.replayKey),
    uniqueIndex("tasks_idempotency_key_uq").on(t.idempotencyKey),
    index("tasks_replay_root_idx").on(t.replayRoot),
    // Dispatch prefers the executor that ran the repo last (its worktrees are warm).
    index("tasks_repo_created_idx").on(t.repo, t.createdAt),
  ],
);

export const stages = sqliteTable(
  "stages",
  {
    /** `${taskId}:${attempt}`: a retried write step upserts the same row. */
    id: text("id").primaryKey(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    attempt: integer("attempt").notNull(),
    taskKind: text("task_kind").notNull().default("general"),
    profile: text("profile", { enum: oneOf(ProfileName.options) }).notNull(),
    cli: text("cli").notNull(),
    model: text("model").notNull(),
    status: text("status", { enum: oneOf(StageStatus.options) }).notNull(),
    costUsd: real("cost_usd").notNull().default(0),
    tokensIn: integer("tokens_in").notNull().default(0),
    tokensOut: integer("tokens_out").notNull().default(0),
    tokensCacheRead: integer("tokens_cache_read").notNull().default(0),
    tokensCacheWrite: integer("tokens_cache_write").notNull().default(0),
    latencyMs: integer("latency_ms").notNull().default(0),
    errorKind: text("error_kind"),
    errorMessage: text("error_message"),
    jobId: text("job_id"),
    verifyOk: integer("verify_ok", { mode: "boolean" }),
    filesChanged: integer("files_changed").notNull().default(0),
    /** Where the attempt's work is on the executor VM: `vault/<jobKey>` and its commit (null when nothing ran). */
    branch: text("branch"),
    commit: text("commit"),
    /** First 16 hex digits of the SHA-256 of the prompt the CLI got (prompt + spec + instructions). */
    promptVersion: text("prompt_version"),
    /** Why this rung ran: the chooser's explanation on the attempt it chose (null for every other attempt). */
    note: text("note"),
    /** The executor the job went to (`executors.id`, or `default` for EXECUTOR_URL); null: none yet. */
    executorId: text("executor_id"),
    /** The commit the worktree started from, when it was fetched, and whether that fetch was this job's. */
    baseCommit: text("base_commit"),
    baseFetchedAt: ms("base_fetched_at"),
    baseFresh: integer("base_fresh", { mode: "boolean" }),
    /** A stale base: how old it was and why the fetch failed. */
    baseNote: text("base_note"),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("stages_task_attempt_uq").on(t.taskId, t.attempt),
    index("stages_status_idx").on(t.status, t.createdAt),
    index("stages_created_idx").on(t.createdAt),
    index("stages_profile_created_idx").on(t.profile, t.createdAt),
  ],
);

/**
 * Running spend totals per period, updated in the same D1 batch as the stage row, so a breaker check
 * is two primary-key reads however large `stages` grows.
 */
export const circuitBreaker = sqliteTable("circuit_breaker", {
  /** `day:YYYY-MM-DD` or `month:YYYY-MM` (UTC). */
  scope: text("scope").primaryKey(),
  spentUsd: real("spent_usd").notNull().default(0),
  runs: integer("runs").notNull().default(0),
  state: text("state", { enum: ["ok", "warn", "block", "flag"] })
    .notNull()
    .default("ok"),
  acknowledgedAt: ms("acknowledged_at"),
  acknowledgedBy: text("acknowledged_by"),
  updatedAt: ms("updated_at").notNull(),
});

export const modelStats = sqliteTable(
  "model_stats",
  {
    profile: text("profile", { enum: oneOf(ProfileName.options) }).notNull(),
    taskKind: text("task_kind").notNull().default("general"),
    runs: integer("runs").notNull().default(0),
    successes: integer("successes").notNull().default(0),
    failures: integer("failures").notNull().default(0),
    totalCostUsd: real("total_cost_usd").notNull().default(0),
    /** Spend of the successful runs: the chooser prices a success and a failure apart. */
    successCostUsd: real("success_cost_usd").notNull().default(0),
    totalLatencyMs: integer("total_latency_ms").notNull().default(0),
    /** Failures since the last success; drives the ladder's cooldown. */
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    lastFailureAt: ms("last_failure_at"),
    cooldownUntil: ms("cooldown_until"),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.profile, t.taskKind] })],
);

export const checkpoints = sqliteTable(
  "checkpoints",
  {
    id: text("id").primaryKey(),
    taskId: text("task_id").references(() => tasks.id),
    label: text("label").notNull(),
    state: text("state", { mode: "json" }).$type<unknown>().notNull(),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [index("checkpoints_task_idx").on(t.taskId, t.createdAt)],
);

export const decisions = sqliteTable(
  "decisions",
  {
    id: text("id").primaryKey(),
    taskId: text("task_id").references(() => tasks.id),
    kind: text("kind", { enum: oneOf(DecisionKind.options) }).notNull(),
    decision: text("decision").notNull(),
    rationale: text("rationale"),
    actor: text("actor").notNull().default("orchestrator"),
    /** Extra structured data (e.g. the replay's new task id, a raised cap). */
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [index("decisions_task_idx").on(t.taskId, t.createdAt)],
);

export const transcripts = sqliteTable(
  "transcripts",
  {
    id: text("id").primaryKey(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    stageId: text("stage_id"),
    attempt: integer("attempt"),
    kind: text("kind", { enum: ["cli", "verify", "consensus", "note"] })
      .notNull()
      .default("cli"),
    content: text("content").notNull(),
    bytes: integer("bytes").notNull(),
    truncated: integer("truncated", { mode: "boolean" }).notNull().default(false),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [index("transcripts_task_idx").on(t.taskId, t.createdAt)],
);

/**
 * One row per task start the Worker admitted (execute, replay): who started it, for the per-caller
 * rate and the cap on active tasks. No reference to tasks: a replay that never started deletes its
 * task row, and this row with it (worker/services/admission.ts).
 */
export const taskStarts = sqliteTable(
  "task_starts",
  {
    taskId: text("task_id").primaryKey(),
    /** `bearer` (the static token) or `oauth:<client id>`. */
    caller: text("caller").notNull(),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [index("task_starts_caller_created_idx").on(t.caller, t.createdAt)],
);

/**
 * The executor pool: one row per executor that ever heartbeat (POST /api/executors/heartbeat), as it
 * last described itself. Dispatch reads it instead of asking each executor; an executor whose last
 * heartbeat is older than the lease is not sent jobs, and its running jobs are taken elsewhere.
 */
export const executors = sqliteTable("executors", {
  id: text("id").primaryKey(),
  /** Where the Worker reaches its job API. */
  url: text("url").notNull(),
  capacity: integer("capacity").notNull().default(0),
  /** Ids of the jobs it said were running. */
  running: text("running", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  queued: integer("queued").notNull().default(0),
  /** The repositories it holds. */
  repos: text("repos", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  /** Which profiles (and consensus) it can run, what each missing one needs, its direct profiles. */
  readiness: text("readiness", { mode: "json" })
    .$type<PoolReadiness>()
    .notNull()
    .default(sql`'{"profiles":{},"consensus":{"ready":false},"direct":{}}'`),
  version: text("version").notNull(),
  /** `draining`: an operator drained it; no new job goes there. Only an operator sets it back. */
  state: text("state", { enum: ["active", "draining"] })
    .notNull()
    .default("active"),
  /** The executor said it is shutting down (it takes no new job). */
  stopping: integer("stopping", { mode: "boolean" }).notNull().default(false),
  /**
   * Dispatches that chose this executor so far, and the last one's token: dispatch claims an executor
   * by moving this from the count it read (compare-and-set), so concurrent dispatches that read the
   * same free slots do not all pile onto one executor.
   */
  claims: integer("claims").notNull().default(0),
  claimedBy: text("claimed_by"),
  /** The executor's clock in its last heartbeat: a later heartbeat must carry a later one (no replays). */
  sentAt: ms("sent_at").notNull(),
  /** The Worker's clock when the last heartbeat came: what the lease is measured from. */
  lastHeartbeatAt: ms("last_heartbeat_at").notNull(),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

/**
 * Repos registered by URL (`vault repos add`): a task naming one sends its `source` to the executor,
 * which clones and fetches it, and its work is delivered as `deliver` says. A repo placed on the
 * executor by hand (REPO_ALLOWLIST) has no row. Tasks name repos by `name`, without a reference: a
 * removed repo leaves its tasks as they were.
 */
export const repos = sqliteTable("repos", {
  name: text("name").primaryKey(),
  /** https URL without credentials (contract RemoteUrl); the executor holds the token. */
  url: text("url").notNull(),
  defaultBranch: text("default_branch").notNull().default("main"),
  deliver: text("deliver", { enum: oneOf(DeliverSetting.options) })
    .notNull()
    .default("none"),
  /** `OWNER/REPO` where pull requests go: derived from a github.com URL, or given. */
  github: text("github"),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

export type TaskRow = typeof tasks.$inferSelect;
export type StageRow = typeof stages.$inferSelect;
export type ModelStatsRow = typeof modelStats.$inferSelect;
export type CheckpointRow = typeof checkpoints.$inferSelect;
export type DecisionRow = typeof decisions.$inferSelect;
export type TranscriptRow = typeof transcripts.$inferSelect;
export type ExecutorRow = typeof executors.$inferSelect;
export type RepoRow = typeof repos.$inferSelect;
