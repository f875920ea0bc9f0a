import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { ExecuteInput, startExecute } from "../../worker/services/execute.ts";
import { createTask } from "../../worker/services/tasks.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor, type Scenario } from "./fake-executor.ts";

/** Registers the per-test reset: the real fetch back, clean spend and statistics (cooldowns). */
export function resetBetweenTests(): void {
  afterEach(async () => {
    setExecutorFetch(null);
    await env.DB.exec("DELETE FROM circuit_breaker; DELETE FROM model_stats;");
  });
}

export function useExecutor(scenario: (profile: string, attempt: number) => Scenario): FakeExecutor {
  const fake = new FakeExecutor(scenario);
  setExecutorFetch(fake.fetch);
  return fake;
}

/** A task row like `workflow init` makes, so the test knows the instance id before it starts. */
export async function seedTask(overrides: Partial<Parameters<typeof createTask>[1]> = {}): Promise<string> {
  const task = await createTask(
    env.DB,
    { prompt: "Create hello.txt", repo: "demo", profile: "auto", verbosity: "mermaid", kind: "general", ...overrides },
    Date.now(),
  );
  return task.id;
}

/** `execute` of a seeded task, answering at once (`running`). */
export async function run(taskId: string) {
  return startExecute(env, ExecuteInput.parse({ taskId, waitSeconds: 0 }), { waitSeconds: 0 });
}

type Modifier = Parameters<Parameters<Awaited<ReturnType<typeof introspectWorkflowInstance>>["modify"]>[0]>[0];

/** Seeds a task, runs its instance with retry delays off (plus `mods`), and waits for `status`. */
export async function runTo(
  seed: Parameters<typeof seedTask>[0] = {},
  mods: (m: Modifier) => Promise<void> = async () => {},
  status: "complete" | "errored" = "complete",
): Promise<{ taskId: string; output: unknown }> {
  const taskId = await seedTask(seed);
  await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
  await instance.modify(async (m) => {
    await m.disableRetryDelays();
    await mods(m);
  });
  await run(taskId);
  await instance.waitForStatus(status);
  return { taskId, output: status === "complete" ? await instance.getOutput() : await instance.getError() };
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
