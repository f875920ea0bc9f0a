/**
 * What a replay takes from its original: what it asked (replayInit), and beyond the row, whether its
 * workflow instance is still alive (a halted task waits for a budget raise, a needs_human task for a
 * decision, and either would run again next to its replay), how to end it, and the reviewer's last
 * instructions.
 */

import { AUTO, type ProfileName } from "@vault-mcp/contract";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { AppError } from "../../core/errors.ts";
import type { TaskRow } from "../../schema/index.ts";
import { decisions } from "../../schema/index.ts";
import { composePrompt } from "../../workflows/prompt.ts";
import { isInstanceMissing } from "./instances.ts";
import { type NewTask, TaskInit } from "./tasks.ts";

type Status = InstanceStatus["status"];

/** After these nothing more happens in the instance: its task is safe to replay. */
const ENDED: ReadonlySet<Status> = new Set<Status>(["complete", "errored", "terminated"]);

export interface LiveInstance {
  instance: WorkflowInstance;
  status: Status;
}

/**
 * The original's instance while it can still act (queued, running, waiting, paused, unknown), else
 * null. A task that never had an instance (made by `workflow init`, never executed) has nothing to
 * wait for; any other failure to read the status is an error, never taken as "ended".
 */
export async function liveInstance(env: Env, taskId: string): Promise<LiveInstance | null> {
  let instance: WorkflowInstance;
  try {
    instance = await env.EXECUTE_WORKFLOW.get(taskId);
  } catch (err) {
    if (isInstanceMissing(err)) return null;
    throw new AppError("conflict", `could not read the workflow instance of '${taskId}'; retry`, { cause: err });
  }
  const { status } = await instance.status().catch((err: unknown) => {
    throw new AppError("conflict", `could not read the workflow instance of '${taskId}'; retry`, { cause: err });
  });
  return ENDED.has(status) ? null : { instance, status };
}

/** Why a task with a live instance is skipped, and how to replay it anyway. */
export function waitingReason(task: TaskRow, live: LiveInstance): string {
  const [waitsFor, answer] =
    task.status === "halted"
      ? [", waiting for a budget raise", "raise its cap"]
      : task.status === "needs_human"
        ? [", waiting for a human decision", "decide it"]
        : ["", "let it end"];
  return `its workflow instance is still ${live.status}${waitsFor}, and a replay would run beside it: ${answer}, or pass includeWaiting (--include-waiting) to terminate it first`;
}

/** Ends the original's instance; an instance that ended meanwhile (a race with a decision) is fine too. */
export async function terminateInstance(taskId: string, live: LiveInstance): Promise<void> {
  try {
    await live.instance.terminate();
  } catch (err) {
    // Unreadable counts as not ended: the terminate error below is the one to report.
    const after = await live.instance.status().catch(() => null);
    if (after && ENDED.has(after.status)) return;
    throw new AppError("conflict", `could not terminate the workflow instance of '${taskId}'; retry`, { cause: err });
  }
}

/**
 * The instructions of the task's last human decision (`decide` keeps them in `rationale`), or null
 * when that decision gave none: the original's last run had exactly these.
 */
export async function lastInstructions(db: D1Database, taskId: string): Promise<string | null> {
  const [last] = await drizzle(db)
    .select({ rationale: decisions.rationale })
    .from(decisions)
    .where(and(eq(decisions.taskId, taskId), eq(decisions.kind, "human")))
    .orderBy(desc(decisions.createdAt), desc(decisions.id))
    .limit(1);
  return last?.rationale ?? null;
}

/**
 * The replay asks what the original asked — its executor, profile, climb rule, verify, budget — unless
 * the caller says otherwise: `fromTier` starts at that profile instead (a ladder run, climbing unless
 * `climb` is false); `climb` alone changes only the climb rule. Re-validated: a row written by an
 * older version must still be a valid input.
 */
export function replayInit(
  original: TaskRow,
  input: { fromTier?: ProfileName | undefined; climb?: boolean | undefined; budgetUsd?: number | undefined },
  instructions: string | null,
): NewTask {
  const budgetUsd = input.budgetUsd ?? original.budgetUsd;
  const executor = input.fromTier === undefined ? original.executor : null;
  const climb = input.climb ?? (input.fromTier === undefined ? original.climb : true);
  // A direct run that climbs is what execute makes of executor + profile 'auto'; one that does not
  // names no profile. Anything else starts where it was asked to.
  const profile = executor ? (climb ? AUTO : undefined) : (input.fromTier ?? original.profile);
  const init = TaskInit.parse({
    // The instructions as a human retry hands them to the agent; the spec stays on the row (setSpec).
    prompt: composePrompt(original.prompt, null, instructions ?? undefined),
    repo: original.repo,
    ...(original.ref ? { ref: original.ref } : {}),
    ...(executor ? { executor } : {}),
    ...(profile ? { profile } : {}),
    verbosity: original.verbosity,
    ...(original.verify ? { verify: original.verify } : {}),
    ...(budgetUsd ? { budgetUsd } : {}),
    kind: original.kind,
    // Delivered as the original was (its mode when it started).
    ...(original.deliver ? { deliver: original.deliver } : {}),
  });
  return { ...init, climb };
}
