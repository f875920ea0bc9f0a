/**
 * Human decisions and budget raises. Each answers one wait: the instance writes the event type it
 * waits for (`human-2`) to the task row; the answer first claims it (clears it in the same UPDATE
 * that checks it), then sends that event and records the decision. A second answer to the same wait
 * finds nothing to claim: 409, and it can never answer a later wait (which has another type).
 */
import type { DecisionSent, TaskStatus } from "@vault-mcp/contract";
import { and, eq, isNull, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { AppError, describe } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { log } from "../../core/log.ts";
import { decisions, type TaskRow, tasks } from "../../schema/index.ts";
import { bound, type InsertSelect } from "../../workflows/d1.ts";
import type { BudgetEvent, HumanEvent, WaitKind } from "../../workflows/params.ts";
import { promptOverflow } from "../../workflows/prompt.ts";
import { chainCostUsd, refuseOverflow, requireTask } from "./tasks.ts";

interface Answer {
  kind: WaitKind;
  /** The status a task waiting for this answer has. */
  status: TaskStatus;
  payload: HumanEvent | BudgetEvent;
  decision: { decision: string; rationale: string | null; actor: string; data: Record<string, unknown> | null };
}

async function answerWait(env: Env, task: TaskRow, answer: Answer, now: number): Promise<DecisionSent> {
  const taskId = task.id;
  if (task.status !== answer.status) {
    throw new AppError(
      "conflict",
      `task '${taskId}' is ${task.status}; ${answer.kind === "human" ? "a human decision is taken only when it is needs_human" : "raise the cap of a halted task"}`,
    );
  }
  const type = task.waitingFor;
  const answered = () =>
    new AppError("conflict", `task '${taskId}' has already been answered; nothing waits for this answer now`);
  if (!type?.startsWith(`${answer.kind}-`)) throw answered();
  if (answer.payload.wait !== undefined && answer.payload.wait !== type)
    throw new AppError(
      "conflict",
      `wait ${answer.payload.wait} of task '${taskId}' was already answered; it now waits for ${type}`,
    );
  // Claim the wait and record the decision in one batch: the UPDATE checks and clears the wait (of
  // two concurrent answers exactly one changes the row), and the decision row is written only by the
  // answer whose UPDATE did.
  const decisionId = newId("d", now);
  const d = drizzle(env.DB);
  const decision: InsertSelect<typeof decisions> = {
    id: bound(decisions.id, decisionId),
    taskId: bound(decisions.taskId, taskId),
    kind: bound(decisions.kind, answer.kind),
    decision: bound(decisions.decision, answer.decision.decision),
    rationale: bound(decisions.rationale, answer.decision.rationale),
    actor: bound(decisions.actor, answer.decision.actor),
    data: bound(decisions.data, answer.decision.data),
    createdAt: bound(decisions.createdAt, now),
  };
  const [claim] = await d.batch([
    d
      .update(tasks)
      .set({ waitingFor: null, updatedAt: now })
      .where(and(eq(tasks.id, taskId), eq(tasks.waitingFor, type)))
      .returning({ id: tasks.id }),
    // changes(): the rows the claim just changed, in this same transaction.
    d.insert(decisions).select(
      d
        .select(decision)
        .from(tasks)
        .where(and(eq(tasks.id, taskId), sql`changes() = 1`)),
    ),
  ]);
  if (claim.length === 0) throw answered();
  try {
    const instance = await env.EXECUTE_WORKFLOW.get(taskId);
    await instance.sendEvent({ type, payload: answer.payload });
  } catch (err) {
    // The claim stands only if the instance got the answer: give the wait back for a retry.
    await d.batch([
      d
        .update(tasks)
        .set({ waitingFor: type })
        .where(and(eq(tasks.id, taskId), isNull(tasks.waitingFor), eq(tasks.status, answer.status))),
      d.delete(decisions).where(eq(decisions.id, decisionId)),
    ]);
    log("warn", "answer_not_delivered", { taskId, type, error: describe(err) });
    throw new AppError("conflict", `task '${taskId}' cannot take the answer now; try again`, { cause: err });
  }
  return { taskId, decisionId };
}

export async function decide(env: Env, taskId: string, event: HumanEvent, now: number): Promise<DecisionSent> {
  const task = await requireTask(env.DB, taskId);
  if (event.decision === "retry" && event.instructions)
    refuseOverflow(promptOverflow(task.prompt, task.spec, event.instructions), "the instructions");
  return answerWait(
    env,
    task,
    {
      kind: "human",
      status: "needs_human",
      payload: event,
      decision: {
        decision: event.decision,
        rationale: event.instructions ?? null,
        actor: event.actor,
        data: event.profile ? { profile: event.profile } : null,
      },
    },
    now,
  );
}

export async function raiseBudget(env: Env, taskId: string, event: BudgetEvent, now: number): Promise<DecisionSent> {
  const spent = await chainCostUsd(env.DB, taskId);
  if (spent !== null && event.capUsd <= spent) {
    throw new AppError(
      "invalid_input",
      `capUsd must exceed what the task (with its replays) has spent: $${spent.toFixed(2)}`,
    );
  }
  return answerWait(
    env,
    await requireTask(env.DB, taskId),
    {
      kind: "budget",
      status: "halted",
      payload: event,
      decision: {
        decision: `cap raised to $${event.capUsd}`,
        rationale: event.note ?? null,
        actor: event.actor,
        data: { capUsd: event.capUsd },
      },
    },
    now,
  );
}
