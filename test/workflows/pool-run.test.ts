/**
 * The workflow over a pool of two fake executors (each a format-faithful FakeExecutor at its own URL,
 * registered by the real signed heartbeat route): the job goes where the pool says, the stage records
 * the executor, an executor that goes silent past the lease loses its job to the other one, and its
 * late result is never counted twice.
 */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { SIGNATURE_HEADER, signBody } from "@vault-mcp/contract";
import { beforeEach, describe, expect, it } from "vitest";
import { getConfig } from "../../core/config.ts";
import { verifyBreakers } from "../../worker/services/breaker-verify.ts";
import { sweepLeases } from "../../worker/services/leases.ts";
import { reconcile } from "../../worker/services/reconcile.ts";
import { saveRepo } from "../../worker/services/repos.ts";
import { executorClient, executorFetch, setExecutorFetch } from "../../workflows/executor-client.ts";
import { dispatchJob } from "../../workflows/steps/dispatch.ts";
import { join } from "../worker/heartbeats.ts";
import { api } from "../worker/mcp-client.ts";
import { FakeExecutor, type Scenario } from "./fake-executor.ts";
import { expectEnded, resetBetweenTests, run, seedTask, taskRow, waitForEnd } from "./helpers.ts";

resetBetweenTests();
// Each test sees only its own stages: the pool's choice reads who ran the repo last, and the breaker
// check compares the totals (reset after each test) with every stage.
beforeEach(() => env.DB.exec("DELETE FROM transcripts; DELETE FROM stages;"));

const SECRET = "test-callback-secret";

/** One fake executor per host (`a` at http://a.test, …): the Worker's fetch goes to the one it names. */
function usePool(scenarios: Record<string, (profile: string, attempt: number) => Scenario>) {
  const fakes = Object.fromEntries(Object.entries(scenarios).map(([id, sc]) => [id, new FakeExecutor(sc)]));
  setExecutorFetch((input, init) => {
    const fake = fakes[new URL(input).hostname.replace(/\.test$/, "")];
    if (!fake) return Promise.reject(new TypeError(`fetch failed: no executor at ${input}`));
    return fake.fetch(input, init);
  });
  return fakes;
}

const stages = async (taskId: string) =>
  (
    await env.DB.prepare(
      "SELECT attempt, status, executor_id, error_kind, cost_usd, job_id FROM stages WHERE task_id = ?1 ORDER BY attempt",
    )
      .bind(taskId)
      .all<{
        attempt: number;
        status: string;
        executor_id: string | null;
        error_kind: string | null;
        cost_usd: number;
        job_id: string | null;
      }>()
  ).results;

async function until<T>(what: string, f: () => Promise<T | null | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runOn(seed: Parameters<typeof seedTask>[0], during: (taskId: string) => Promise<void> = async () => {}) {
  const taskId = await seedTask(seed);
  await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
  await instance.modify(async (m) => m.disableRetryDelays());
  await run(taskId);
  await during(taskId);
  return await waitForEnd(taskId);
}

describe("ExecuteWorkflow over a pool", { timeout: 30_000 }, () => {
  it("sends the job to the executor with the most free slots and records it on the stage", async () => {
    const fakes = usePool({ a: () => ({}), b: () => ({}) });
    await join("a", { running: ["x-1"] });
    await join("b");
    const ran = await runOn({ profile: "sonnet" });
    await expectEnded(ran, "succeeded");
    expect(await stages(ran.taskId)).toMatchObject([{ status: "succeeded", executor_id: "b" }]);
    expect(fakes.a?.postCount()).toBe(0);
    expect(fakes.b?.postCount()).toBe(1);
  });

  it("a repo registered by URL goes to an executor that can fetch it; its delivery and diff go where it ran", async () => {
    const fakes = usePool({ a: () => ({}), b: () => ({}) });
    await saveRepo(
      env.DB,
      { name: "fetched", url: "https://git.example.com/o/fetched.git", defaultBranch: "main", deliver: "push" },
      Date.now(),
    );
    // Neither holds it; both can fetch it. b has the most free slots.
    await join("a", { running: ["x-1"] });
    await join("b");
    const ran = await runOn({ profile: "sonnet", repo: "fetched" });
    await expectEnded(ran, "succeeded");
    const [stage] = await stages(ran.taskId);
    expect(stage).toMatchObject({ status: "succeeded", executor_id: "b" });
    const diff = await api(`/api/tasks/${ran.taskId}/diff`);
    expect(diff.status).toBe(200);
    expect(fakes.b?.remote.calls).toEqual([`deliver ${stage?.job_id}`, `diff ${stage?.job_id} a`]);
    expect(fakes.a?.remote.calls).toEqual([]);
  });

  it("never to a drained executor, nor to one without the repo, whatever their slots", async () => {
    const fakes = usePool({ a: () => ({}), b: () => ({}), c: () => ({}) });
    await join("a", { capacity: 1, running: ["x-1"] });
    await join("b", { capacity: 8, repos: ["other"] });
    await join("c", { capacity: 8 });
    await env.DB.prepare("UPDATE executors SET state = 'draining' WHERE id = 'c'").run();
    const ran = await runOn({ profile: "sonnet" });
    await expectEnded(ran, "succeeded");
    expect((await stages(ran.taskId)).map((s) => s.executor_id)).toEqual(["a"]);
    expect([fakes.b?.postCount(), fakes.c?.postCount()]).toEqual([0, 0]);
  });

  it("an executor silent past the lease loses its job: interrupted, run again on the other; its late result is noted, counted nowhere", async () => {
    const fakes = usePool({
      a: () => ({ loseCallback: true, pollsBeforeDone: 1_000_000, costUsd: 0.5 }),
      b: () => ({ costUsd: 0.02 }),
    });
    await join("a");
    await join("b");
    const ran = await runOn({ profile: "sonnet" }, async (taskId) => {
      await until("attempt 1 on a", async () => (await stages(taskId)).find((s) => s.job_id && s.executor_id === "a"));
      // a stops heartbeating: its last heartbeat is now older than the lease.
      await env.DB.prepare("UPDATE executors SET last_heartbeat_at = ?1 WHERE id = 'a'")
        .bind(Date.now() - 60_000)
        .run();
      expect(await sweepLeases(env, getConfig(env), Date.now(), true)).toBe(1);
    });
    await expectEnded(ran, "succeeded");
    const rows = await stages(ran.taskId);
    expect(rows).toMatchObject([
      { attempt: 1, status: "interrupted", executor_id: "a", error_kind: "lease_expired", cost_usd: 0 },
      { attempt: 2, status: "succeeded", executor_id: "b", cost_usd: 0.02 },
    ]);
    // Attempt 2 is a new job key on b; a never got it.
    expect([...(fakes.b?.jobs.keys() ?? [])]).toEqual([`${ran.taskId}:2`]);
    expect([...(fakes.a?.jobs.keys() ?? [])]).toEqual([`${ran.taskId}:1`]);

    // a comes back and delivers attempt 1's result: the callback finds the task done with it, and
    // neither reconcile nor a second callback counts it.
    const a1 = fakes.a?.jobs.get(`${ran.taskId}:1`)?.view;
    if (!a1) throw new Error("a has no job");
    const late = JSON.stringify(a1);
    for (let i = 0; i < 2; i++) {
      const res = await exports.default.fetch(
        new Request(`http://localhost/api/callback/${ran.taskId}`, {
          method: "POST",
          body: late,
          headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signBody(SECRET, late) },
        }),
      );
      // 409 a finished instance; 404 here, where the test's introspection disposed of it.
      expect([202, 404, 409]).toContain(res.status);
    }
    await join("a", { sentAt: Date.now() + 1 });
    const reconciled = await reconcile(env, getConfig(env), { taskId: ran.taskId, limit: 20 }, Date.now());
    expect(reconciled.items).toEqual([]);
    expect(await stages(ran.taskId)).toMatchObject([
      { status: "interrupted", cost_usd: 0 },
      { status: "succeeded", cost_usd: 0.02 },
    ]);
    expect((await taskRow(ran.taskId)).cost_usd).toBeCloseTo(0.02, 6);
    expect((await verifyBreakers(env.DB, Date.now())).drift).toBe(false);
    // Recorded, once, on the lost attempt: what it did and cost, counted nowhere.
    const notes = await env.DB.prepare(
      "SELECT id, attempt, kind, content FROM transcripts WHERE task_id = ?1 AND kind = 'note'",
    )
      .bind(ran.taskId)
      .all<{ id: string; attempt: number; kind: string; content: string }>();
    expect(notes.results).toMatchObject([{ id: `${ran.taskId}:1:late`, attempt: 1 }]);
    expect(notes.results[0]?.content).toMatch(
      /^late result from executor a after its lease expired: succeeded, \$0\.5000/,
    );
  });

  it("concurrent dispatches that read the same free slots still spread: each claims its executor", async () => {
    const fakes = usePool({ a: () => ({ loseCallback: true }), b: () => ({ loseCallback: true }) });
    await join("a", { capacity: 3 });
    await join("b", { capacity: 3 });
    const config = getConfig(env);
    const ids = await Promise.all(Array.from({ length: 6 }, () => seedTask()));
    // Their tasks run (the Worker counts a running task's running stages as jobs out).
    await env.DB.prepare(`UPDATE tasks SET status = 'running' WHERE id IN (${ids.map(() => "?").join(",")})`)
      .bind(...ids)
      .run();
    const sent = await Promise.all(
      ids.map((taskId) =>
        dispatchJob(env.DB, {
          clientFor: (url) => executorClient({ executorUrl: url, executorSecret: "s" }, executorFetch()),
          config,
          params: { taskId, profile: "sonnet", repo: "demo", verbosity: "mermaid", kind: "general", climb: true },
          base: { taskId, attempt: 1, kind: "general", profile: "sonnet" },
          instructions: undefined,
          budgetLeftUsd: undefined,
          fetchable: false,
          now: Date.now(),
        }),
      ),
    );
    const on = sent.map((d) => ("executorId" in d ? d.executorId : "?"));
    expect(on.filter((x) => x === "a")).toHaveLength(3);
    expect(on.filter((x) => x === "b")).toHaveLength(3);
    expect([fakes.a?.postCount(), fakes.b?.postCount()]).toEqual([3, 3]);
  });

  it("a retried dispatch keeps the executor its stage names; when that one's lease expired, it says so instead of sending elsewhere", async () => {
    const fakes = usePool({ a: () => ({ loseCallback: true }), b: () => ({}) });
    await join("a");
    await join("b");
    const taskId = await seedTask();
    const base = { taskId, attempt: 1, kind: "general", profile: "sonnet" as const };
    const config = getConfig(env);
    const dispatch = () =>
      dispatchJob(env.DB, {
        clientFor: (url) => executorClient({ executorUrl: url, executorSecret: "s" }, executorFetch()),
        config,
        params: { taskId, profile: "sonnet", repo: "demo", verbosity: "mermaid", kind: "general", climb: true },
        base,
        instructions: undefined,
        budgetLeftUsd: undefined,
        fetchable: false,
        now: Date.now(),
      });
    const first = await dispatch();
    expect(first).toMatchObject({ executorId: "a" });
    // b now has more free slots, yet the retry goes to a again (same key, same executor).
    await join("a", { sentAt: Date.now() + 1, running: ["j-1", "j-2"] });
    expect(await dispatch()).toMatchObject({ executorId: "a" });
    expect([fakes.a?.postCount(), fakes.b?.postCount()]).toEqual([2, 0]);
    await env.DB.prepare("UPDATE executors SET last_heartbeat_at = 0 WHERE id = 'a'").run();
    expect(await dispatch()).toEqual({ leaseExpired: true, executorId: "a" });
    expect(fakes.b?.postCount()).toBe(0);
  });
});
