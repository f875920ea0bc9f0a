/**
 * The task vocabulary shared by the Worker, its Workflow and the ops CLI: task ids, statuses, and
 * what a task may ask to run (a profile, `auto`) or fall back to (`human`).
 */
import { z } from "zod";
import { CliName, ProfileName } from "./profiles.ts";

/** `t-20261124-1530-ab12cd`: sortable, readable in the dashboard, unique enough per minute. */
export const TaskId = z.string().regex(/^t-\d{8}-\d{4}-[a-z0-9]{6}$/, "task ids look like t-20261124-1530-ab12cd");

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
/** Statuses a task no longer leaves by itself (a human may still decide, replay or close). */
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = TaskStatus.exclude(["init", "running"]).options;
/** What `vault replay --failed` and the replay tool pick up by default. */
export const REPLAYABLE_TASK_STATUSES: readonly TaskStatus[] = ["failed", "halted", "blocked", "needs_human"];

export const AUTO = "auto";
export const HUMAN = "human";

/** What a task asks for: `auto` climbs the ladder; a profile name pins it. */
export const ProfileChoice = z.union([z.literal(AUTO), ProfileName]);
export type ProfileChoice = z.infer<typeof ProfileChoice>;

/** One rung of the escalation ladder: a profile, or `human` (the last resort). */
export const Rung = z.union([ProfileName, z.literal(HUMAN)]);
export type Rung = z.infer<typeof Rung>;

/**
 * One attempt's row: `running` from dispatch until its result is written; `skipped` when the rung
 * could not run (not ready, put aside); `interrupted` when the executor restarted under it (it is
 * re-dispatched); `budget` when the run stopped at the task's remaining budget; `error` when nothing
 * ran (the executor refused or stayed unreachable).
 */
export const StageStatus = z.enum([
  "running",
  "succeeded",
  "failed",
  "timeout",
  "budget",
  "interrupted",
  "skipped",
  "error",
]);
export type StageStatus = z.infer<typeof StageStatus>;

/** Stage statuses and error kinds of attempts in which no model ran (the rung was skipped, nothing started, the CLI was refused). */
const NO_MODEL_STATUSES: ReadonlySet<StageStatus> = new Set(["skipped", "error"]);
export const NO_MODEL_ERROR_KINDS: readonly string[] = ["setup", "auth"];

/**
 * Did a model run in this attempt (and could it have cost money)? What `tries`/`attempts` counts
 * show people: a skipped rung or a refused login is not a try. Running attempts count.
 */
export function modelRan(stage: { status: StageStatus; errorKind: string | null }): boolean {
  return !NO_MODEL_STATUSES.has(stage.status) && !NO_MODEL_ERROR_KINDS.includes(stage.errorKind ?? "");
}

/** The original call shape: run one CLI once (its configured direct profile), or the two-model consensus. */
export const ExecutorChoice = z.enum([...CliName.options, "consensus"]);
export type ExecutorChoice = z.infer<typeof ExecutorChoice>;
