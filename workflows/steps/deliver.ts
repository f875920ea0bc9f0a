/**
 * `deliver #n`: a succeeded attempt's work goes to its repo's remote on `vault/<taskId>` (and, for
 * `pr`, into a pull request), through the executor's POST /jobs/:id/deliver, and the outcome goes
 * on the task. Delivering again is safe: the executor pushes the same commit to the same branch and
 * updates the open pull request instead of opening another, so a retried step (or `vault deliver`
 * after a failure) never duplicates anything; the task's columns are overwritten with the same values.
 */
import { type DeliverRequest, type DeliverResult, modelRan, stripControls } from "@vault-mcp/contract";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { log } from "../../core/log.ts";
import { type StageRow, stages, type TaskRow, tasks } from "../../schema/index.ts";
import type { AttemptFailure, ExecutorClient } from "../executor-client.ts";
import type { TaskDelivery } from "../params.ts";

/** The flag a succeeded task carries while its delivery has failed; a later delivery removes it. */
export const DELIVERY_FAILED = "delivery_failed";

/** The only branch a task's work is pushed to. */
export const deliveryBranch = (taskId: string): string => `vault/${taskId}`;

const TITLE_MAX = 120;
const BODY_RESULT_MAX = 20_000;

/** The prompt's first line, as a pull request title. */
export function prTitle(prompt: string, taskId: string): string {
  const first = stripControls(prompt)
    .split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .find((l) => l !== "");
  if (!first) return `vault task ${taskId}`;
  return first.length > TITLE_MAX ? `${first.slice(0, TITLE_MAX - 1).trimEnd()}…` : first;
}

/** A fence longer than any run of backticks inside `text`, so the text cannot close it. */
function fence(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(Math.max(3, longest + 1));
}

/** The result's diagram (its leading flowchart) and whatever text follows it. */
function splitResult(result: string): { diagram: string | null; rest: string } {
  if (!/^(flowchart|graph)\b/.test(result)) return { diagram: null, rest: result };
  const cut = result.indexOf("\n\n");
  return cut < 0 ? { diagram: result, rest: "" } : { diagram: result.slice(0, cut), rest: result.slice(cut + 2) };
}

/**
 * The pull request's body: the task id, the result's Mermaid (GitHub renders a ```mermaid block),
 * the profiles that ran, the cost and the verify outcome.
 */
export function prBody(task: TaskRow, attempts: readonly StageRow[], attempt: number): string {
  const result = stripControls(task.result ?? "").slice(0, BODY_RESULT_MAX);
  const { diagram, rest } = splitResult(result);
  const ran = attempts.filter(modelRan);
  const profiles = ran.length
    ? ran.map((s) => `${s.profile} (${s.attempt === attempt ? "succeeded" : s.status})`).join(" → ")
    : "none";
  const won = attempts.find((s) => s.attempt === attempt);
  const verify =
    won?.verifyOk === true
      ? `\`${(task.verify ?? []).join(" ")}\` passed`
      : task.verify
        ? `\`${task.verify.join(" ")}\` did not run`
        : "none asked";
  const lines = [`Work of vault task \`${task.id}\` (attempt ${attempt}).`, ""];
  if (diagram) lines.push(`${fence(diagram)}mermaid`, diagram, fence(diagram), "");
  if (rest.trim()) lines.push(`${fence(rest)}text`, rest.trim(), fence(rest), "");
  lines.push(`- Profiles: ${profiles}`, `- Cost: $${task.costUsd.toFixed(4)}`, `- Verify: ${verify}`);
  return lines.join("\n").slice(0, 65_536);
}

/** The executor request: push to `vault/<taskId>`, and for `pr` the pull request's text from D1. */
export async function deliverRequest(
  db: D1Database,
  taskId: string,
  attempt: number,
  delivery: TaskDelivery,
): Promise<DeliverRequest> {
  const branch = deliveryBranch(taskId);
  if (delivery.mode === "push" || delivery.github === undefined) return { branch, mode: "push" };
  const d = drizzle(db);
  const [[task], rows] = await d.batch([
    d.select().from(tasks).where(eq(tasks.id, taskId)).limit(1),
    d.select().from(stages).where(eq(stages.taskId, taskId)).orderBy(stages.attempt),
  ]);
  if (!task) throw new Error(`task '${taskId}' has no row`);
  return {
    branch,
    mode: "pr",
    pr: { github: delivery.github, title: prTitle(task.prompt, taskId), body: prBody(task, rows, attempt) },
  };
}

/** What the step hands back: small, and enough for the instance to finish the task. */
export interface DeliveryOutcome {
  ok: boolean;
  prUrl: string | null;
  /** Why it failed and what to do (null when it worked). */
  message: string | null;
}

type Delivered = { ok: true; value: DeliverResult } | AttemptFailure;

/** The task's columns after a delivery: where the work is now, or what to fix. */
export async function recordDelivery(
  db: D1Database,
  taskId: string,
  delivered: Delivered,
  now: number,
): Promise<DeliveryOutcome> {
  const d = drizzle(db);
  if (delivered.ok) {
    const r = delivered.value;
    await d
      .update(tasks)
      .set({
        branch: r.branch,
        commit: r.commit,
        prUrl: r.pr?.url ?? null,
        prNumber: r.pr?.number ?? null,
        delivery: "delivered",
        deliveryError: null,
        deliveredAt: now,
        flags: sql`(select json_group_array(value) from json_each(${tasks.flags}) where value <> ${DELIVERY_FAILED})`,
        updatedAt: now,
      })
      .where(eq(tasks.id, taskId));
    return { ok: true, prUrl: r.pr?.url ?? null, message: null };
  }
  log("warn", "delivery_failed", { taskId, kind: delivered.kind, code: delivered.code ?? null });
  const message = `delivery failed: ${delivered.message}; once fixed, deliver again with 'vault deliver ${taskId}' (POST /api/tasks/${taskId}/deliver)`;
  await d
    .update(tasks)
    .set({
      delivery: "failed",
      deliveryError: message.slice(0, 2000),
      flags: sql`case when exists (select 1 from json_each(${tasks.flags}) where value = ${DELIVERY_FAILED}) then ${tasks.flags} else json_insert(${tasks.flags}, '$[#]', ${DELIVERY_FAILED}) end`,
      updatedAt: now,
    })
    .where(eq(tasks.id, taskId));
  return { ok: false, prUrl: null, message };
}

export interface DeliverWork {
  client: ExecutorClient;
  taskId: string;
  attempt: number;
  jobId: string;
  delivery: TaskDelivery;
}

/**
 * Builds the request, delivers through `call` (the step's retry policy: executorStep; the Worker's
 * `vault deliver`: one try), and records the outcome.
 */
export async function deliverWork(
  db: D1Database,
  w: DeliverWork,
  call: (body: () => Promise<DeliverResult>) => Promise<Delivered>,
  now: () => number,
): Promise<DeliveryOutcome> {
  const req = await deliverRequest(db, w.taskId, w.attempt, w.delivery);
  const delivered = await call(() => w.client.deliver(w.jobId, req));
  return recordDelivery(db, w.taskId, delivered, now());
}
