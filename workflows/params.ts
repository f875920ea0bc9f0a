/**
 * What crosses into and out of an ExecuteWorkflow instance: its params, the events it waits for,
 * and what `startExecute` returns to the MCP tool / REST route. Shared by worker/ and workflows/.
 */
import { GitRef, JobView, ProfileName, RepoName, Verbosity, VerifyCommand } from "@vault-mcp/contract";
import { z } from "zod";

export const TaskStatus = z.enum([
  "init",
  "running",
  "succeeded",
  "failed",
  "halted",
  "blocked",
  "needs_human",
  "closed",
]);
export type TaskStatus = z.infer<typeof TaskStatus>;
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = [
  "succeeded",
  "failed",
  "halted",
  "blocked",
  "needs_human",
  "closed",
];

/** `t-20261124-1530-ab12cd`: sortable, readable in the dashboard, unique enough per minute. */
export const TaskId = z.string().regex(/^t-\d{8}-\d{4}-[a-z0-9]{6}$/, "task ids look like t-20261124-1530-ab12cd");

export const MAX_WAIT_SECONDS = 45;
export const DEFAULT_WAIT_SECONDS = 20;

/** Input of the `execute` MCP tool and `POST /api/execute`. */
export const ExecuteInput = z
  .strictObject({
    prompt: z
      .string()
      .min(1)
      .max(100_000)
      .optional()
      .describe("What the coding agent should do, self-contained. Required unless taskId is given."),
    repo: RepoName.optional().describe(
      "Allowlisted repository name on the executor VM, e.g. 'my-app'. Required unless taskId is given.",
    ),
    ref: GitRef.optional().describe("Branch, tag or commit to start from (default: the repo's HEAD)."),
    profile: z
      .union([z.literal("auto"), ProfileName])
      .default("auto")
      .describe("'auto' climbs the ladder from the cheapest profile; or pin one profile."),
    verbosity: Verbosity.default("mermaid").describe("How much of the result to return; 'mermaid' is a tiny diagram."),
    verify: VerifyCommand.optional().describe(
      "Command run in the worktree after the agent, as argv, e.g. ['npm','test']. A non-zero exit fails the attempt.",
    ),
    budgetUsd: z
      .number()
      .positive()
      .max(1000)
      .optional()
      .describe("Per-task halt cap in USD (default: the configured $5)."),
    kind: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/)
      .default("general")
      .describe("Task kind for model statistics, e.g. 'bugfix'."),
    taskId: TaskId.optional().describe("Run a task created with `workflow init` instead of a new one."),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_WAIT_SECONDS)
      .default(DEFAULT_WAIT_SECONDS)
      .describe("How long to wait for the result before answering 'running'."),
  })
  .refine((i) => i.taskId !== undefined || (i.prompt !== undefined && i.repo !== undefined), {
    message: "give prompt and repo for a new task, or the taskId of a task created with 'workflow init'",
    path: ["prompt"],
  });
export type ExecuteInput = z.infer<typeof ExecuteInput>;

/** Params of one ExecuteWorkflow instance (instance id = taskId). Kept small: the prompt lives in D1. */
export const ExecuteParams = z.strictObject({
  taskId: TaskId,
  profile: z.union([z.literal("auto"), ProfileName]),
  repo: RepoName,
  ref: GitRef.optional(),
  verbosity: Verbosity,
  verify: VerifyCommand.optional(),
  budgetUsd: z.number().positive().optional(),
  kind: z.string(),
  replayOf: TaskId.optional(),
});
export type ExecuteParams = z.infer<typeof ExecuteParams>;

// ── events an instance waits for (instance.sendEvent({ type, payload })) ──────────────────────
export const EXECUTOR_RESULT_EVENT = "executor-result";
/**
 * The event a job's callback sends: `executor-result-<attempt>`, one type per attempt, so a late
 * callback never wakes the wrong wait. Payload: the JobView slimmed (workflows/result-event.ts).
 */
export const resultEventType = (attempt: number): string => `${EXECUTOR_RESULT_EVENT}-${attempt}`;
/** jobKey = `<taskId>:<attempt>` (see steps/dispatch.ts). */
export function attemptOfJobKey(jobKey: string): number | null {
  const m = /:(\d+)$/.exec(jobKey);
  return m ? Number(m[1]) : null;
}
export const BUDGET_EVENT = "budget";
export const HUMAN_EVENT = "human";

export const ExecutorResultEvent = JobView;
export type ExecutorResultEvent = z.infer<typeof ExecutorResultEvent>;

export const BudgetEvent = z.strictObject({
  capUsd: z.number().positive().max(1000).describe("New per-task cap in USD; must exceed what the task has spent."),
  actor: z.string().max(100).default("human"),
  note: z.string().max(2000).optional(),
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
});
export type HumanEvent = z.infer<typeof HumanEvent>;

/** What `execute` answers: the result when the instance finished in time, else `running` + progress. */
export interface ExecuteOutcome {
  taskId: string;
  status: TaskStatus;
  /** The compressed result (Mermaid by default) once finished. */
  result?: string;
  /** Breaker flags carried by the task: `task_warn`, `month_flag`, … */
  flags: string[];
  /** A small progress Mermaid while running. */
  progress?: string;
  costUsd: number;
  error?: string;
}
