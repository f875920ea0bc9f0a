/**
 * What crosses into an ExecuteWorkflow instance: its params and the events it waits for. The Worker
 * creates instances with these params and sends these events; nothing here imports the Worker.
 */
import {
  DeliveryMode,
  ExecutorChoice,
  GitHubRepoName,
  GitRef,
  ProfileChoice,
  ProfileName,
  RepoName,
  RepoSource,
  TaskId,
  Verbosity,
  VerifyCommand,
} from "@vault-mcp/contract";
import { z } from "zod";

/** How a task's work is delivered, fixed when it starts: push, or push and a pull request on `github`. */
export const TaskDelivery = z
  .strictObject({ mode: DeliveryMode, github: GitHubRepoName.optional() })
  .refine((d) => d.mode !== "pr" || d.github !== undefined, "a pull request needs github: OWNER/REPO");
export type TaskDelivery = z.infer<typeof TaskDelivery>;

/** Params of one ExecuteWorkflow instance (instance id = taskId). Kept small: the prompt lives in D1. */
export const ExecuteParams = z.strictObject({
  taskId: TaskId,
  profile: ProfileChoice,
  repo: RepoName,
  ref: GitRef.optional(),
  verbosity: Verbosity,
  verify: VerifyCommand.optional(),
  budgetUsd: z.number().positive().optional(),
  kind: z.string(),
  replayOf: TaskId.optional(),
  /** The original call shape: run this CLI's direct profile (or consensus) instead of `profile`. */
  executor: ExecutorChoice.optional(),
  /** Whether a failed run escalates up the ladder. */
  climb: z.boolean(),
  /** The repo is registered by URL: every job carries it, so the executor clones and fetches it. */
  source: RepoSource.optional(),
  /** Deliver the succeeded attempt's work (absent: `none`, it stays on the executor). */
  delivery: TaskDelivery.optional(),
});
export type ExecuteParams = z.infer<typeof ExecuteParams>;

// ── events an instance waits for (instance.sendEvent({ type, payload })) ──────────────────────
const EXECUTOR_RESULT_EVENT = "executor-result";
/**
 * The event a job's callback sends: `executor-result-<attempt>`, one type per attempt, so a late
 * callback never wakes the wrong wait. Payload: the JobView slimmed (workflows/result-event.ts).
 */
export const resultEventType = (attempt: number): string => `${EXECUTOR_RESULT_EVENT}-${attempt}`;
/**
 * What the Worker sends on an attempt's result event when the executor running its job stopped
 * heartbeating past the lease: not a job, so the wait ends without a result and the poll that
 * follows finds the lease expired (workflows/lease.ts).
 */
export interface LeaseLost {
  leaseExpired: true;
  executorId: string;
  jobId: string | null;
}
/** jobKey = `<taskId>:<attempt>` (see steps/dispatch.ts). */
export function attemptOfJobKey(jobKey: string): number | null {
  const m = /:(\d+)$/.exec(jobKey);
  return m ? Number(m[1]) : null;
}
/**
 * An event no wait listens for. Sent by reconcile to an instance that shows no sign of life: an engine
 * that lost its timers (a local `wrangler dev` restarted under it) resumes an instance when it gets an
 * event, replays it, and takes up the wait or step it was in; a live instance only stores it.
 */
export const WAKE_EVENT = "wake";

/**
 * A human's answer and a raised cap: one event type per wait (`human-2`, `budget-1`), written to the
 * task row as `waiting_for` while the instance waits. The Worker claims that value before it sends,
 * so a second answer to the same wait is refused (409) and can never answer the next one.
 */
export type WaitKind = "human" | "budget";
export const waitEventType = (kind: WaitKind, n: number): string => `${kind}-${n}`;

/** Names the wait an answer is meant for (the task's `waitingFor`), so a late duplicate cannot answer the next one. */
const ForWait = z
  .string()
  .regex(/^(human|budget)-\d{1,6}$/, "wait looks like human-1 or budget-2 (the task's waitingFor)")
  .optional()
  .describe("The wait this answers, as the task shows it (waitingFor); another wait is refused with 409.");

export const BudgetEvent = z.strictObject({
  capUsd: z.number().positive().max(1000).describe("New per-task cap in USD; must exceed what the task has spent."),
  actor: z.string().max(100).default("human"),
  note: z.string().max(2000).optional(),
  wait: ForWait,
});
export type BudgetEvent = z.infer<typeof BudgetEvent>;

export const HumanEvent = z.strictObject({
  decision: z
    .enum(["approve", "reject", "retry"])
    .describe("approve = accept as is; reject = end failed; retry = run again."),
  profile: ProfileName.optional().describe(
    "With 'retry': the profile to run next (runs even if cooling down; default: the ladder from its first rung).",
  ),
  instructions: z.string().max(20_000).optional().describe("Extra instructions appended to the prompt on retry."),
  actor: z.string().max(100).default("human"),
  wait: ForWait,
});
export type HumanEvent = z.infer<typeof HumanEvent>;
