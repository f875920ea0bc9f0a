/**
 * One task as its page shows it: the row, its attempts (stages), decisions, replays and the spend of
 * its replay chain, read in one D1 batch (one round trip). The step list follows the workflow's own
 * step names (workflows/execute-workflow.ts), built from the stages and decisions: the Workflows
 * binding reports an instance's status, not its steps, in production.
 */
import { TERMINAL_TASK_STATUSES } from "@vault-mcp/contract";
import { asc, eq, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { alias } from "drizzle-orm/sqlite-core";
import type { Config } from "../../../core/config.ts";
import { decisions, type StageRow, stages, type TaskRow, tasks } from "../../../schema/index.ts";
import { inertMermaid, splitResult } from "../diagram.ts";
import type { AttemptView, DecisionView, StepView, TaskPageView } from "../model.ts";
import { askedOf, shown } from "../text.ts";
import { deliveryOf } from "./delivery.ts";

/** An answer sent this recently leaves the page polling while the instance resumes. */
const RESUMING_MS = 60_000;

export async function readTaskPage(
  db: D1Database,
  config: Config,
  id: string,
  now: number,
): Promise<TaskPageView | null> {
  const d = drizzle(db);
  const chain = alias(tasks, "c");
  const root = sql`(SELECT COALESCE(${tasks.replayRoot}, ${tasks.id}) FROM ${tasks} WHERE ${tasks.id} = ${id})`;
  const [taskRows, stageRows, decisionRows, replayRows, spent] = await d.batch([
    d.select().from(tasks).where(eq(tasks.id, id)).limit(1),
    d.select().from(stages).where(eq(stages.taskId, id)).orderBy(asc(stages.attempt)),
    d
      .select({
        kind: decisions.kind,
        decision: decisions.decision,
        rationale: decisions.rationale,
        actor: decisions.actor,
        createdAt: decisions.createdAt,
      })
      .from(decisions)
      .where(eq(decisions.taskId, id))
      .orderBy(asc(decisions.createdAt)),
    d.select({ id: tasks.id }).from(tasks).where(eq(tasks.replayOf, id)).orderBy(asc(tasks.createdAt)).limit(20),
    d
      .select({ usd: sql<number>`COALESCE(SUM(${chain.costUsd}), 0)` })
      .from(chain)
      .where(or(eq(chain.id, root), eq(chain.replayRoot, root))),
  ]);
  const task = taskRows[0];
  if (!task) return null;
  const { diagram, rest } = splitResult(task.result);
  const decided = decisionRows.map(
    (r): DecisionView => ({ ...r, decision: shown(r.decision), rationale: r.rationale ? shown(r.rationale) : null }),
  );
  const lastDecision = decided.at(-1);
  const resuming =
    (task.status === "needs_human" || task.status === "halted") &&
    task.waitingFor === null &&
    lastDecision !== undefined &&
    now - lastDecision.createdAt < RESUMING_MS;
  return {
    id: task.id,
    status: task.status,
    repo: task.repo,
    kind: task.kind,
    asked: askedOf(task),
    prompt: shown(task.prompt),
    spec: task.spec ? shown(task.spec) : null,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
    attempts: attemptsOf(stageRows, now),
    capUsd: task.budgetUsd ?? config.breakers.taskHaltUsd,
    chainSpentUsd: spent[0]?.usd ?? task.costUsd,
    costUsd: task.costUsd,
    flags: task.flags,
    steps: stepsOf(task, stageRows, decided),
    stepsSource: "stages",
    diagram: diagram ? inertMermaid(diagram) : null,
    resultText: rest ? shown(rest) : null,
    error: task.error ? shown(task.error) : null,
    waitingFor: task.waitingFor,
    decisions: decided,
    replayOf: task.replayOf,
    replays: replayRows.map((r) => r.id),
    delivery: deliveryOf(task),
    live: !TERMINAL_TASK_STATUSES.includes(task.status) || resuming,
  };
}

export function attemptsOf(rows: readonly StageRow[], now: number): AttemptView[] {
  let cumulative = 0;
  return rows.map((s) => {
    cumulative += s.costUsd;
    const running = s.status === "running";
    return {
      attempt: s.attempt,
      profile: s.profile,
      cli: s.cli,
      model: shown(s.model),
      status: s.status,
      startedAt: s.createdAt,
      durationMs: running ? Math.max(0, now - s.createdAt) : s.latencyMs,
      running,
      tokensIn: s.tokensIn,
      tokensOut: s.tokensOut,
      tokensCache: s.tokensCacheRead + s.tokensCacheWrite,
      costUsd: s.costUsd,
      cumulativeUsd: cumulative,
      // Why the chooser ran it (the attempt it picked), then why it failed.
      message: [s.note, s.errorMessage ?? s.errorKind].flatMap((m) => (m ? [shown(m)] : [])).join("\n") || null,
      executorId: s.executorId,
      filesChanged: s.filesChanged,
      verifyOk: s.verifyOk,
    };
  });
}

/** The workflow's steps as its names read (`dispatch sonnet #2`, `human #1`, `finish`). */
export function stepsOf(task: TaskRow, rows: readonly StageRow[], decided: readonly DecisionView[]): StepView[] {
  const steps: StepView[] = [{ name: "init", state: "done", detail: null }];
  for (const s of rows) {
    if (s.status === "skipped") {
      steps.push({
        name: `choose #${s.attempt}`,
        state: "done",
        detail: `${s.profile} skipped: ${shown(s.errorMessage)}`,
      });
      continue;
    }
    const running = s.status === "running";
    steps.push({
      name: `dispatch ${s.profile} #${s.attempt}`,
      state: "done",
      detail: s.jobId ? `job ${s.jobId}` : null,
    });
    steps.push({
      name: `write ${s.profile} #${s.attempt}`,
      state: running ? "running" : s.status === "succeeded" ? "done" : "failed",
      detail: running ? "waiting for the executor's result" : s.status,
    });
  }
  let humans = 0;
  let budgets = 0;
  for (const dec of decided) {
    if (dec.kind === "human") steps.push({ name: `human #${++humans}`, state: "done", detail: dec.decision });
    if (dec.kind === "budget") steps.push({ name: `budget #${++budgets}`, state: "done", detail: dec.decision });
  }
  const wait = task.waitingFor ? /^(human|budget)-(\d+)$/.exec(task.waitingFor) : null;
  if (wait?.[1] && wait[2])
    steps.push({ name: `${wait[1]} #${wait[2]}`, state: "waiting", detail: `waiting for event ${task.waitingFor}` });
  if (TERMINAL_TASK_STATUSES.includes(task.status) && !wait)
    steps.push({
      name: "finish",
      state: task.status === "succeeded" || task.status === "closed" ? "done" : "failed",
      detail: task.status,
    });
  return steps;
}

/** The instance's status from the Workflows binding; null when there is none (a task never started). */
export async function instanceStatus(env: Env, id: string): Promise<{ status: string; error: string | null } | null> {
  try {
    const s = await (await env.EXECUTE_WORKFLOW.get(id)).status();
    return { status: s.status, error: s.error ? shown(s.error.message) : null };
  } catch {
    // No instance with this id (created with `workflow init` and never executed): nothing to show.
    return null;
  }
}

export const isWaiting = (v: TaskPageView, kind: "human" | "budget") => v.waitingFor?.startsWith(`${kind}-`) ?? false;
