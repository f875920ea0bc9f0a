import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { getConfig } from "../../core/config.ts";
import { ExecuteInput, startExecute } from "../../worker/services/execute.ts";
import { createTask } from "../../worker/services/tasks.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { resultWait } from "../../workflows/step-config.ts";
import { FakeExecutor, type FakeHealth, type Scenario } from "./fake-executor.ts";

/** Registers the per-test reset: the real fetch back, clean spend and statistics (cooldowns). */
export function resetBetweenTests(): void {
  afterEach(async () => {
    setExecutorFetch(null);
    await env.DB.exec("DELETE FROM circuit_breaker; DELETE FROM model_stats;");
  });
}

export function useExecutor(
  scenario: (profile: string, attempt: number) => Scenario,
  health: FakeHealth = {},
): FakeExecutor {
  const fake = new FakeExecutor(scenario, undefined, health);
  setExecutorFetch(fake.fetch);
  return fake;
}

/** A task row like `workflow init` makes, so the test knows the instance id before it starts. */
export async function seedTask(overrides: Partial<Parameters<typeof createTask>[1]> = {}): Promise<string> {
  const task = await createTask(
    env.DB,
    { prompt: "Create hello.txt", repo: "demo", verbosity: "mermaid", kind: "general", ...overrides },
    Date.now(),
  );
  return task.id;
}

/** `execute` of a seeded task, answering at once (`running`). */
export async function run(taskId: string) {
  return startExecute(env, ExecuteInput.parse({ taskId, waitSeconds: 0 }), { waitSeconds: 0 });
}

export type Modifier = Parameters<Parameters<Awaited<ReturnType<typeof introspectWorkflowInstance>>["modify"]>[0]>[0];

/**
 * Every period of an attempt's result wait (`wait <profile> #<attempt>.<k>`) times out at once: no
 * callback reaches the instance, which then polls the executor after each period.
 */
export async function loseCallbacks(m: Pick<Modifier, "forceEventTimeout">, profile: string, attempt = 1) {
  const { periods } = resultWait(getConfig(env).jobTimeoutMs);
  for (let k = 1; k <= periods; k++) await m.forceEventTimeout({ name: `wait ${profile} #${attempt}.${k}` });
}

export interface Ran {
  taskId: string;
  /** How the instance ended: `complete` for a task that succeeded, `errored` for every other end. */
  instance: "complete" | "errored";
  /** The instance's output (complete) or its error message (errored). */
  output: unknown;
  error: string | null;
}

/** Seeds a task, runs its instance with retry delays off (plus `mods`), and waits for it to end. */
export async function runTo(
  seed: Parameters<typeof seedTask>[0] = {},
  mods: (m: Modifier) => Promise<void> = async () => {},
): Promise<Ran> {
  const taskId = await seedTask(seed);
  await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
  await instance.modify(async (m) => {
    await m.disableRetryDelays();
    await mods(m);
  });
  await run(taskId);
  // Awaited here: the introspection must outlive the wait (it is disposed when this returns).
  return await waitForEnd(taskId);
}

/** Polls the instance until it is complete or errored (a task that did not succeed errors it). */
export async function waitForEnd(taskId: string, timeoutMs = 20_000): Promise<Ran> {
  const handle = await env.EXECUTE_WORKFLOW.get(taskId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await handle.status();
    if (s.status === "complete") return { taskId, instance: "complete", output: s.output, error: null };
    if (s.status === "errored" || s.status === "terminated")
      return { taskId, instance: "errored", output: null, error: s.error?.message ?? null };
    if (Date.now() > deadline) throw new Error(`instance ${taskId} still ${s.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface StageRowView {
  attempt: number;
  profile: string;
  status: string;
  cost_usd: number;
  error_kind: string | null;
}

export async function stageRows(taskId: string): Promise<StageRowView[]> {
  const r = await env.DB.prepare(
    "SELECT attempt, profile, status, cost_usd, error_kind FROM stages WHERE task_id = ?1 ORDER BY attempt",
  )
    .bind(taskId)
    .all<StageRowView>();
  return r.results;
}

/** Each stage's status and message, oldest first (what `vault tasks show` prints). */
export async function stageMessages(taskId: string): Promise<[string, string, string | null][]> {
  const r = await env.DB.prepare(
    "SELECT profile, status, error_message FROM stages WHERE task_id = ?1 ORDER BY attempt",
  )
    .bind(taskId)
    .all<{ profile: string; status: string; error_message: string | null }>();
  return r.results.map((x) => [x.profile, x.status, x.error_message]);
}

export interface TaskRowView {
  status: string;
  cost_usd: number;
  flags: string;
  result: string | null;
  error: string | null;
  attempts: number;
  budget_usd: number | null;
}

export async function taskRow(taskId: string): Promise<TaskRowView> {
  const r = await env.DB.prepare(
    "SELECT status, cost_usd, flags, result, error, attempts, budget_usd FROM tasks WHERE id = ?1",
  )
    .bind(taskId)
    .first<TaskRowView>();
  if (!r) throw new Error(`no task ${taskId}`);
  return r;
}

export const flagsOf = async (taskId: string): Promise<string[]> =>
  JSON.parse((await taskRow(taskId)).flags) as string[];

/** Puts today's and this month's spend where a test needs it. */
export async function setSpend(dayUsd: number, monthUsd: number, now = Date.now()): Promise<void> {
  const iso = new Date(now).toISOString();
  await env.DB.batch(
    [
      [`day:${iso.slice(0, 10)}`, dayUsd],
      [`month:${iso.slice(0, 7)}`, monthUsd],
    ].map(([scope, usd]) =>
      env.DB.prepare(
        "INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES (?1, ?2, 0, 'ok', ?3) ON CONFLICT(scope) DO UPDATE SET spent_usd = excluded.spent_usd, acknowledged_at = NULL",
      ).bind(scope, usd, now),
    ),
  );
}

/** Puts a profile in cooldown (as three consecutive failures would). */
export async function coolDown(profile: string, untilMs = Date.now() + 3_600_000): Promise<void> {
  await env.DB.prepare(
    "INSERT INTO model_stats (profile, task_kind, runs, failures, consecutive_failures, cooldown_until, updated_at) VALUES (?1, 'general', 3, 3, 3, ?2, ?2)",
  )
    .bind(profile, untilMs)
    .run();
}

/**
 * A task's end as the dashboard and D1 both show it: `succeeded` completes the instance; any other
 * status errors it with `<status>: <the task's message>`, after the row says the same.
 */
export async function expectEnded(r: Ran, status: string): Promise<void> {
  const row = await taskRow(r.taskId);
  if (row.status !== status) throw new Error(`task ${r.taskId} is ${row.status} (${row.error}), expected ${status}`);
  if (status === "succeeded") {
    if (r.instance !== "complete") throw new Error(`instance errored: ${r.error}`);
    return;
  }
  if (r.instance !== "errored") throw new Error(`instance of a ${status} task is ${r.instance}, expected errored`);
  if (!r.error?.includes(`${status}: ${row.error ?? ""}`.slice(0, 60)))
    throw new Error(`instance error '${r.error}' does not carry the task's message '${status}: ${row.error}'`);
}
