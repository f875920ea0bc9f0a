/**
 * Human decisions and budget raises. Each answers one wait: the instance writes the event type it
 * waits for (`human-2`) to the task row; the answer first claims it (clears it in the same UPDATE
 * that checks it), then sends that event and records the decision. A second answer to the same wait
 * finds nothing to claim: 409, and it can never answer a later wait (which has another type).
 */
import type { DecisionSent, TaskStatus } from "@vault-mcp/contract";
import { AppError, describe } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { log } from "../../core/log.ts";
import type { TaskRow } from "../../schema/index.ts";
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
  const [claim] = await env.DB.batch([
    env.DB.prepare("UPDATE tasks SET waiting_for = NULL, updated_at = ?1 WHERE id = ?2 AND waiting_for = ?3").bind(
      now,
      taskId,
      type,
    ),
    env.DB.prepare(
      `INSERT INTO decisions (id, task_id, kind, decision, rationale, actor, data, created_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE changes() = 1`,
    ).bind(
      decisionId,
      taskId,
      answer.kind,
      answer.decision.decision,
      answer.decision.rationale,
      answer.decision.actor,
      answer.decision.data ? JSON.stringify(answer.decision.data) : null,
      now,
    ),
  ]);
  if (!claim?.meta.changes) throw answered();
  try {
    const instance = await env.EXECUTE_WORKFLOW.get(taskId);
    await instance.sendEvent({ type, payload: answer.payload });
  } catch (err) {
    // The claim stands only if the instance got the answer: give the wait back for a retry.
    await env.DB.batch([
      env.DB.prepare("UPDATE tasks SET waiting_for = ?1 WHERE id = ?2 AND waiting_for IS NULL AND status = ?3").bind(
        type,
        taskId,
        answer.status,
      ),
      env.DB.prepare("DELETE FROM decisions WHERE id = ?1").bind(decisionId),
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
