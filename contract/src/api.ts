/**
 * What the Worker's REST API answers (docs/API.md), typed once: the Worker's services return these
 * types, the `health` and `execute` tools advertise them as output schemas, and the ops CLI parses
 * every answer with them. `z.object` strips fields it does not know, so a Worker that adds a field
 * does not break an older CLI.
 */
import { z } from "zod";
import { DeliveryState, TaskChange } from "./api-delivery.ts";
import { DeliverSetting } from "./delivery.ts";
import { ProfileName, Verbosity } from "./profiles.ts";
import { ProfileChoice, StageStatus, TaskStatus } from "./task.ts";

export const TaskView = z.object({
  id: z.string(),
  status: TaskStatus,
  kind: z.string(),
  prompt: z.string(),
  repo: z.string(),
  ref: z.string().nullable(),
  profile: ProfileChoice,
  verbosity: Verbosity,
  verify: z.array(z.string()).nullable(),
  budgetUsd: z.number().nullable(),
  spec: z.string().nullable(),
  costUsd: z.number(),
  attempts: z.number(),
  flags: z.array(z.string()),
  result: z.string().nullable(),
  error: z.string().nullable(),
  replayOf: z.string().nullable(),
  /** The original call shape, when given: a CLI run once, or consensus. */
  executor: z.string().nullable(),
  /** A failed run may climb the ladder: always for a profile, for an executor only with profile auto beside it. */
  climb: z.boolean().optional(),
  /** What the task waits for now (`human-1`, `budget-2`): name it when you answer. */
  waitingFor: z.string().nullable(),
  /** Attempts in which a model ran (`modelRan`): skipped rungs and refused starts are not counted. */
  modelRuns: z.number().optional(),
  /** What happens to its work: asked with the task, else the repo's default (set when it starts). */
  deliver: DeliverSetting.nullable().optional(),
  /** The succeeding attempt's change: `vault/<taskId>` on the remote once delivered, else its branch on the executor. */
  branch: z.string().nullable().optional(),
  commit: z.string().nullable().optional(),
  /** Its diffstat: files changed, lines added and deleted. */
  diffFiles: z.number().nullable().optional(),
  diffAdded: z.number().nullable().optional(),
  diffDeleted: z.number().nullable().optional(),
  prUrl: z.string().nullable().optional(),
  prNumber: z.number().nullable().optional(),
  delivery: DeliveryState.nullable().optional(),
  /** Why the last delivery failed and what to fix (the task then carries the flag `delivery_failed`). */
  deliveryError: z.string().nullable().optional(),
  deliveredAt: z.number().nullable().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  closedAt: z.number().nullable(),
});
export type TaskView = z.infer<typeof TaskView>;

export const StageView = z.object({
  id: z.string(),
  taskId: z.string(),
  attempt: z.number(),
  profile: ProfileName,
  cli: z.string(),
  model: z.string(),
  status: StageStatus,
  costUsd: z.number(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  latencyMs: z.number(),
  errorKind: z.string().nullable(),
  errorMessage: z.string().nullable(),
  jobId: z.string().nullable(),
  /** Where the attempt's work is on the executor VM: `vault/<jobKey>` and its commit. */
  branch: z.string().nullable(),
  commit: z.string().nullable(),
  /** The executor of the pool the job went to (`default`: EXECUTOR_URL; null: none yet). */
  executorId: z.string().nullable().optional(),
  /** Files the attempt changed, and its verify command's outcome (null: no verify ran). */
  filesChanged: z.number().optional(),
  verifyOk: z.boolean().nullable().optional(),
  /** Why this rung ran, on the attempt the chooser picked (`chose sonnet for kind bugfix: …`). */
  note: z.string().nullable().optional(),
  /** The commit the attempt's worktree started from (a repo registered by URL: its fetched default branch). */
  baseCommit: z.string().nullable().optional(),
  /** When that commit was fetched; null for a repo placed on the executor by hand. */
  baseFetchedAt: z.number().nullable().optional(),
  /** False when the fetch before the job failed and it ran on an older commit: `baseNote` says how old and why. */
  baseFresh: z.boolean().nullable().optional(),
  baseNote: z.string().nullable().optional(),
  createdAt: z.number(),
});
export type StageView = z.infer<typeof StageView>;

/** A consensus run's comparison, as data (the executor's report without its diagram). */
export const ConsensusFiles = z.object({
  /** The attempt that ran the consensus. */
  attempt: z.number(),
  verdict: z.enum(["agree", "partial", "disagree"]),
  profiles: z.tuple([z.string(), z.string()]),
  answerSimilarity: z.number(),
  /** Files both runs changed, and whether their diffs are the same. */
  fileAgreement: z.array(z.object({ path: z.string(), same: z.boolean() })),
  filesOnlyA: z.array(z.string()),
  filesOnlyB: z.array(z.string()),
  verify: z.tuple([z.boolean().nullable(), z.boolean().nullable()]),
});
export type ConsensusFiles = z.infer<typeof ConsensusFiles>;

/** Where a task that has not finished is: the attempt under way and the same in words. */
export const TaskProgress = z.object({
  /** The attempt being run or about to be (1 before the first). */
  attempt: z.number(),
  text: z.string(),
});
export type TaskProgress = z.infer<typeof TaskProgress>;

export const DecisionKind = z.enum(["human", "budget", "replay", "close", "ack", "note"]);
export type DecisionKind = z.infer<typeof DecisionKind>;

export const DecisionView = z.object({
  id: z.string(),
  taskId: z.string().nullable(),
  kind: DecisionKind,
  decision: z.string(),
  rationale: z.string().nullable(),
  actor: z.string(),
  createdAt: z.number(),
});
export type DecisionView = z.infer<typeof DecisionView>;

/** `GET /api/tasks` (prompts cut to 200 characters). */
export const TaskList = z.object({ tasks: z.array(TaskView) });
export type TaskList = z.infer<typeof TaskList>;

/** `GET /api/tasks/:id`. */
export const TaskDetail = z.object({
  task: TaskView,
  stages: z.array(StageView),
  decisions: z.array(DecisionView),
  breakers: z.object({ dayBlocked: z.boolean(), monthFlagged: z.boolean() }),
  /** The latest consensus run's files and verdict; null when the task ran none. */
  consensus: ConsensusFiles.nullable().optional(),
  /** While the task runs (init, running): what is under way; null once it has finished. */
  progress: TaskProgress.nullable().optional(),
  /** The succeeded attempt's change (branch, commit, diffstat, pull request); null before one. */
  change: TaskChange.nullable().optional(),
});
export type TaskDetail = z.infer<typeof TaskDetail>;

/** What `execute` answers (and `workflow_query state`, `GET /api/tasks/:id/state`). */
export const ExecuteOutcome = z.object({
  taskId: z.string().describe("Use it with workflow_query state/summary."),
  status: TaskStatus.describe(
    "running: ask again later with workflow_query state; succeeded/failed/halted/blocked/needs_human: finished.",
  ),
  flags: z.array(z.string()).describe("Breaker flags, e.g. task_warn, month_flag."),
  costUsd: z.number(),
  result: z.string().optional().describe("The compressed result (a small Mermaid diagram by default) once finished."),
  progress: z.string().optional().describe("A progress Mermaid while running."),
  error: z.string().optional(),
  change: TaskChange.optional().describe(
    "A succeeded task's change: branch, commit, diffstat, and the pull request once delivered (read it with workflow_query diff).",
  ),
});
export type ExecuteOutcome = z.infer<typeof ExecuteOutcome>;

/** `GET /api/tasks/:id/state`: the outcome plus a one-line progress text while running. */
export const TaskState = ExecuteOutcome.extend({
  progressText: z.string().optional(),
  waitingFor: z.string().optional().describe("halted / needs_human: the wait an answer must name."),
});
export type TaskState = z.infer<typeof TaskState>;

export const ReplayItem = z.object({
  originalId: z.string(),
  newTaskId: z.string().nullable(),
  status: z.enum(["started", "skipped", "would_start", "error"]),
  reason: z.string().optional(),
});
export type ReplayItem = z.infer<typeof ReplayItem>;

/** `POST /api/replay` and the `replay` tool. */
export const ReplayReport = z.object({
  dryRun: z.boolean(),
  items: z.array(ReplayItem),
  started: z.number(),
  skipped: z.number(),
  errors: z.number(),
});
export type ReplayReport = z.infer<typeof ReplayReport>;

export const BreakerThresholds = z.object({
  taskWarnUsd: z.number(),
  taskHaltUsd: z.number(),
  dayBlockUsd: z.number(),
  monthFlagUsd: z.number(),
});
export type BreakerThresholds = z.infer<typeof BreakerThresholds>;

const Period = { scope: z.string(), spentUsd: z.number(), limitUsd: z.number(), runs: z.number() };

/** Today's and this month's spend against their limits. */
export const BreakerSnapshot = z.object({
  day: z.object({ ...Period, state: z.enum(["ok", "block"]) }),
  month: z.object({ ...Period, state: z.enum(["ok", "flag"]), acknowledgedAt: z.number().nullable() }),
  blocked: z.boolean().describe("Today's spend reached the daily block: no new dispatch until 00:00 UTC."),
  flagged: z.boolean().describe("This month's spend reached the flag and nobody acknowledged it yet."),
});
export type BreakerSnapshot = z.infer<typeof BreakerSnapshot>;

/** `GET /api/breakers` and `breakers {action: state}`. */
export const BreakersView = BreakerSnapshot.extend({ thresholds: BreakerThresholds });
export type BreakersView = z.infer<typeof BreakersView>;

/** `GET /health`, `GET /api/health` and the `health` tool. No secret, token or prompt is ever in it. */
export const HealthView = z.object({
  status: z.enum(["ok", "degraded"]).describe("degraded: `reasons` says why."),
  reasons: z.array(z.string()).describe("Why the status is degraded, each with what to do; empty when ok."),
  version: z.string(),
  time: z.string(),
  d1: z.object({ reachable: z.boolean(), latencyMs: z.number() }),
  executor: z.object({
    reachable: z.boolean(),
    latencyMs: z.number(),
    version: z.string().optional(),
    running: z.number().optional(),
    queued: z.number().optional(),
    capacity: z.number().optional(),
    /** Each profile: can it run now, and if not, what to set or run (names, never values). */
    profiles: z.record(z.string(), z.object({ ready: z.boolean(), missing: z.string().optional() })).optional(),
  }),
  /**
   * The executor pool (executors that heartbeat): how many there are, how many are fresh (heartbeat
   * within the lease) and take jobs, and their slots. Absent while no executor heartbeats (then
   * `executor` is the one at EXECUTOR_URL); with a pool, `executor` sums up the fresh ones.
   */
  pool: z
    .object({
      executors: z.number(),
      fresh: z.number(),
      draining: z.number(),
      capacity: z.number(),
      running: z.number(),
      leaseMs: z.number(),
    })
    .optional(),
  breakers: BreakersView.nullable(),
});
export type HealthView = z.infer<typeof HealthView>;

/** `POST /api/tasks/:id/decide` and `/budget` (202): the decision was sent to the waiting instance. */
export const DecisionSent = z.object({ taskId: z.string(), decisionId: z.string() });
export type DecisionSent = z.infer<typeof DecisionSent>;

/** `POST /api/breakers/ack`. */
export const Acknowledged = z.object({ acknowledged: z.boolean() });
export type Acknowledged = z.infer<typeof Acknowledged>;

/**
 * `POST /api/reconcile` (and the cron trigger): what was done for results the workflow could not
 * write and for tasks whose instance stopped moving. `items` are unwritten stages: `written` from the
 * executor (the instance had ended), `woken` (the job finished and its instance was sent the result
 * event, so the instance writes it), `still_running`, or `error`. `tasks` are tasks with no unwritten
 * stage whose instance showed no sign of life (`woken`) or had ended without ending the task (`ended`).
 */
export const ReconcileReport = z.object({
  items: z.array(
    z.object({
      taskId: z.string(),
      attempt: z.number(),
      jobId: z.string(),
      outcome: z.enum(["written", "woken", "still_running", "error"]),
      status: StageStatus.optional(),
      costUsd: z.number().optional(),
      reason: z.string().optional(),
    }),
  ),
  tasks: z
    .array(
      z.object({
        taskId: z.string(),
        outcome: z.enum(["woken", "ended", "error"]),
        /** The status the task was given (`ended`). */
        status: TaskStatus.optional(),
        reason: z.string().optional(),
      }),
    )
    .default([]),
  written: z.number(),
  woken: z.number().default(0),
  stillRunning: z.number(),
  errors: z.number(),
});
export type ReconcileReport = z.infer<typeof ReconcileReport>;

/** `GET /api/cooldowns`: profiles the ladder passes over for now after repeated failed runs. */
export const CooldownList = z.object({
  cooldowns: z.array(
    z.object({
      profile: ProfileName,
      until: z.number(),
      consecutiveFailures: z.number(),
    }),
  ),
});
export type CooldownList = z.infer<typeof CooldownList>;

/** `DELETE /api/cooldowns/:profile`. */
export const CooldownCleared = z.object({ profile: ProfileName, cleared: z.boolean() });
export type CooldownCleared = z.infer<typeof CooldownCleared>;

/** One period's running total in `circuit_breaker` against the same sum recomputed from `stages`. */
export const SpendCheck = z.object({
  scope: z.string().describe("day:YYYY-MM-DD or month:YYYY-MM (UTC), the circuit_breaker row."),
  from: z.number().describe("The period's first millisecond (stages.created_at ≥ from)."),
  to: z.number().describe("The next period's first millisecond (stages.created_at < to)."),
  recordedUsd: z.number(),
  computedUsd: z.number(),
  /** recorded − computed. */
  diffUsd: z.number(),
  recordedRuns: z.number(),
  computedRuns: z.number(),
  drift: z.boolean().describe("|diffUsd| above the tolerance, or the run counts differ."),
});
export type SpendCheck = z.infer<typeof SpendCheck>;

/** `GET /api/breakers/verify` and `vault breakers --verify`. */
export const BreakerVerification = z.object({
  checkedAt: z.number(),
  toleranceUsd: z.number(),
  day: SpendCheck,
  month: SpendCheck,
  drift: z.boolean(),
});
export type BreakerVerification = z.infer<typeof BreakerVerification>;
