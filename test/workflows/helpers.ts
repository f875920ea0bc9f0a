import { env } from "cloudflare:workers";
import { createTask } from "../../worker/services/tasks.ts";

/** A task row like `workflow init` makes, so the test knows the instance id before it starts. */
export async function seedTask(overrides: Partial<Parameters<typeof createTask>[1]> = {}): Promise<string> {
  const task = await createTask(
    env.DB,
    { prompt: "Create hello.txt", repo: "demo", profile: "auto", verbosity: "mermaid", kind: "general", ...overrides },
    Date.now(),
  );
  return task.id;
}

export async function stageRows(taskId: string): Promise<{ attempt: number; profile: string; status: string; cost_usd: number; error_kind: string | null }[]> {
  const r = await env.DB.prepare("SELECT attempt, profile, status, cost_usd, error_kind FROM stages WHERE task_id = ?1 ORDER BY attempt").bind(taskId).all();
  return r.results as never;
}

export async function taskRow(taskId: string): Promise<{ status: string; cost_usd: number; flags: string; result: string | null; error: string | null; attempts: number }> {
  const r = await env.DB.prepare("SELECT status, cost_usd, flags, result, error, attempts FROM tasks WHERE id = ?1").bind(taskId).first();
  return r as never;
}

/** Puts today's and this month's spend where a test needs it. */
export async function setSpend(dayUsd: number, monthUsd: number, now = Date.now()): Promise<void> {
  const iso = new Date(now).toISOString();
  await env.DB.batch(
    [
      [`day:${iso.slice(0, 10)}`, dayUsd],
      [`month:${iso.slice(0, 7)}`, monthUsd],
    ].map(([scope, usd]) =>
      env.DB.prepare("INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES (?1, ?2, 0, 'ok', ?3) ON CONFLICT(scope) DO UPDATE SET spent_usd = excluded.spent_usd, acknowledged_at = NULL").bind(scope, usd, now),
    ),
  );
}
