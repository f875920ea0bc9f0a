/**
 * A local pool for the pool benchmarks: wrangler dev and three real executors (processes joining by
 * signed heartbeat), each with 2 slots, and the format-faithful stand-in claude, whose `sleep:<ms>`
 * prompt makes a job last as long as asked.
 */
import type { TaskDetail } from "@vault-mcp/contract";
import { FAKE_CLAUDE } from "../executor/test/server/harness.ts";
import { type E2E, startE2E } from "../test/e2e/fixture.ts";

export const SLOTS = 2;

export async function startPool(leaseMs: number, heartbeatMs: number): Promise<E2E> {
  return startE2E(
    {},
    {
      EXECUTOR_LEASE_MS: String(leaseMs),
      EXECUTE_RATE_PER_MINUTE: "100000",
      MAX_ACTIVE_TASKS: "100000",
      JOB_TIMEOUT_MS: "120000",
    },
    {
      CLAUDE_BIN: FAKE_CLAUDE,
      // The stand-in counts its runs in the executor's data dir, which an agent identity cannot
      // write; the sandbox's own cost is measured in executor-sandbox.bench.ts.
      AGENT_SANDBOX: "off",
      MAX_EXECUTORS: String(SLOTS),
      MAX_QUEUE: "100",
      HEARTBEAT_MS: String(heartbeatMs),
    },
    // Reconcile stays out of the way: the figures are the pool's own paths.
    { executors: 3, reconcileEveryMs: 0 },
  );
}

export async function startTask(e: E2E, prompt: string): Promise<string> {
  const res = await e.api("/api/execute", {
    method: "POST",
    body: JSON.stringify({ prompt, repo: "demo", profile: "sonnet", waitSeconds: 0 }),
  });
  if (!res.ok) throw new Error(`execute refused: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { taskId: string }).taskId;
}

export const taskDetail = async (e: E2E, id: string): Promise<TaskDetail> =>
  (await (await e.api(`/api/tasks/${id}`)).json()) as TaskDetail;

/** Drains or resumes an executor through the REST API (what `vault executors drain|resume` calls). */
export async function setDrained(e: E2E, id: string, drained: boolean): Promise<void> {
  const res = await e.api(`/api/executors/${id}/${drained ? "drain" : "resume"}`, { method: "POST", body: "{}" });
  if (!res.ok) throw new Error(`${drained ? "drain" : "resume"} ${id}: ${res.status} ${await res.text()}`);
}

export async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every task ended; each must have succeeded. Returns their details. */
export async function allSucceeded(e: E2E, ids: readonly string[], ms = 120_000): Promise<TaskDetail[]> {
  const done = new Map<string, TaskDetail>();
  await until(
    `${ids.length} tasks to end`,
    async () => {
      for (const id of ids) {
        if (done.has(id)) continue;
        const d = await taskDetail(e, id);
        if (d.task.status === "running" || d.task.status === "init") continue;
        if (d.task.status !== "succeeded") throw new Error(`task ${id} ended ${d.task.status}: ${d.task.error ?? ""}`);
        done.set(id, d);
      }
      await new Promise((r) => setTimeout(r, 500));
      return done.size === ids.length;
    },
    ms,
  );
  return ids.map((id) => done.get(id) as TaskDetail);
}
