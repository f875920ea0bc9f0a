/** Human decisions and budget raises: an event to the waiting instance plus a decisions row. */
import { drizzle } from "drizzle-orm/d1";
import { AppError, describe } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { decisions } from "../../schema/index.ts";
import { BUDGET_EVENT, type BudgetEvent, HUMAN_EVENT, type HumanEvent } from "../../workflows/params.ts";
import { requireTask } from "./tasks.ts";

async function sendEvent(env: Env, taskId: string, type: string, payload: unknown): Promise<void> {
  let instance: WorkflowInstance;
  try {
    instance = await env.EXECUTE_WORKFLOW.get(taskId);
  } catch (err) {
    throw new AppError("not_found", `task '${taskId}' has no workflow instance; it was never executed`, { cause: err });
  }
  try {
    await instance.sendEvent({ type, payload });
  } catch (err) {
    throw new AppError(
      "conflict",
      `task '${taskId}' cannot take a '${type}' event now (${describe(err).slice(0, 200)})`,
      { cause: err },
    );
  }
}

export async function decide(
  env: Env,
  taskId: string,
  event: HumanEvent,
  now: number,
): Promise<{ taskId: string; decisionId: string }> {
  const task = await requireTask(env.DB, taskId);
  if (task.status !== "needs_human") {
    throw new AppError(
      "conflict",
      `task '${taskId}' is ${task.status}; a human decision is taken only when it is needs_human`,
    );
  }
  await sendEvent(env, taskId, HUMAN_EVENT, event);
  const decisionId = newId("d", now);
  await drizzle(env.DB)
    .insert(decisions)
    .values({
      id: decisionId,
      taskId,
      kind: "human",
      decision: event.decision,
      rationale: event.instructions ?? null,
      actor: event.actor,
      data: event.profile ? { profile: event.profile } : null,
      createdAt: now,
    });
  return { taskId, decisionId };
}

export async function raiseBudget(
  env: Env,
  taskId: string,
  event: BudgetEvent,
  now: number,
): Promise<{ taskId: string; decisionId: string }> {
  const task = await requireTask(env.DB, taskId);
  if (task.status !== "halted")
    throw new AppError("conflict", `task '${taskId}' is ${task.status}; raise the cap of a halted task`);
  if (event.capUsd <= task.costUsd) {
    throw new AppError("invalid_input", `capUsd must exceed what the task has spent ($${task.costUsd.toFixed(2)})`);
  }
  await sendEvent(env, taskId, BUDGET_EVENT, event);
  const decisionId = newId("d", now);
  await drizzle(env.DB)
    .insert(decisions)
    .values({
      id: decisionId,
      taskId,
      kind: "budget",
      decision: `cap raised to $${event.capUsd}`,
      rationale: event.note ?? null,
      actor: event.actor,
      data: { capUsd: event.capUsd },
      createdAt: now,
    });
  return { taskId, decisionId };
}
