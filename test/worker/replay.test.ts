/**
 * Replays through the real Worker and real instances in workerd; only the executor is faked. A task
 * whose instance still waits (halted: for a budget raise; needs_human: for a decision) must never be
 * replayed beside a live original: it is skipped, or the original is terminated first when asked. A
 * replay carries the original's spec, its last human instructions and a given budget, and asks what
 * the original asked (executor, profile, climb rule, verify) unless told otherwise.
 */
import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ReplayReport } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { setSpend } from "../workflows/helpers.ts";
import { api } from "./mcp-client.ts";

afterEach(async () => {
  setExecutorFetch(null);
  await env.DB.exec("DELETE FROM circuit_breaker; DELETE FROM model_stats;");
});

async function post<T>(path: string, body: unknown, status = 200): Promise<T> {
  const res = await api(path, { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** Polls `read` until `done` holds (events and finishing steps reach an instance asynchronously). */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const taskStatus = async (taskId: string) =>
  ((await (await api(`/api/tasks/${taskId}/state`)).json()) as { status: string }).status;
const waitForStatus = (taskId: string, statuses: string[]) =>
  until(
    () => taskStatus(taskId),
    (s) => statuses.includes(s),
    `task ${taskId}`,
  );

const instanceStatus = async (taskId: string) => (await (await env.EXECUTE_WORKFLOW.get(taskId)).status()).status;

async function decisionsOf(taskId: string) {
  const { results } = await env.DB.prepare(
    "SELECT kind, decision, rationale, data FROM decisions WHERE task_id = ?1 ORDER BY created_at, rowid",
  )
    .bind(taskId)
    .all<{ kind: string; decision: string; rationale: string | null; data: string | null }>();
  return results;
}

/** A waiting instance reads `waiting` in production and `running` under the local engine. */
const LIVE = ["running", "waiting"];

describe("replay of a task whose instance still waits", { timeout: 40_000 }, () => {
  it("needs_human: skipped by default; includeWaiting terminates the original first, then replays with its spec and instructions", async () => {
    const fake = new FakeExecutor((profile) => (profile === "consensus" ? { errorKind: "api" } : { costUsd: 0.02 }));
    setExecutorFetch(fake.fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());

    const created = await post<{ id: string }>(
      "/api/tasks",
      { prompt: "Fix the parser", repo: "demo", profile: "consensus" },
      201,
    );
    const id = created.id;
    await post(`/api/tasks/${id}/spec`, { spec: "Keep the public API; add a test per bug." });
    await post("/api/execute", { taskId: id, waitSeconds: 0 });
    await waitForStatus(id, ["needs_human"]);
    // A human retries with instructions; consensus fails again and the task waits once more.
    await post(
      `/api/tasks/${id}/decide`,
      { decision: "retry", profile: "consensus", instructions: "use node:fs" },
      202,
    );
    const stages = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM stages WHERE task_id = ?1").bind(id).first<{ n: number }>())?.n;
    await until(stages, (n) => n === 2, "the retried attempt");
    await waitForStatus(id, ["needs_human"]);
    expect(LIVE).toContain(await instanceStatus(id));

    const skipped = await post<ReplayReport>("/api/replay", { taskId: id, fromTier: "sonnet" });
    expect(skipped).toMatchObject({ started: 0, skipped: 1 });
    expect(skipped.items[0]?.reason).toMatch(
      /^its workflow instance is still (waiting|running), waiting for a human decision, and a replay would run beside it: decide it, or pass includeWaiting \(--include-waiting\) to terminate it first$/,
    );
    const bulk = await post<ReplayReport>("/api/replay", { since: "1h", limit: 100 });
    expect(bulk.items.find((i) => i.originalId === id)).toMatchObject({ status: "skipped" });
    const dry = await post<ReplayReport>("/api/replay", { taskId: id, includeWaiting: true, dryRun: true });
    expect(dry.items).toEqual([
      {
        originalId: id,
        newTaskId: null,
        status: "would_start",
        reason: expect.stringMatching(/^its (waiting|running) workflow instance would be terminated first$/),
      },
    ]);
    expect(LIVE).toContain(await instanceStatus(id));
    const before = await decisionsOf(id);

    const real = await post<ReplayReport>("/api/replay", { taskId: id, fromTier: "sonnet", includeWaiting: true });
    expect(real).toMatchObject({ started: 1, skipped: 0, errors: 0 });
    const newId = real.items[0]?.newTaskId as string;
    expect(await instanceStatus(id)).toBe("terminated");
    const added = (await decisionsOf(id)).slice(before.length);
    expect(added.map((d) => [d.kind, d.decision])).toEqual([
      ["replay", expect.stringMatching(/^terminated its (waiting|running) workflow instance to replay it$/)],
      ["replay", `replayed as ${newId}`],
    ]);
    expect(JSON.parse(added[1]?.data ?? "{}")).toMatchObject({ spec: true, instructions: true, profile: "sonnet" });

    expect(await waitForStatus(newId, ["succeeded", "failed", "needs_human"])).toBe("succeeded");
    const row = await env.DB.prepare("SELECT spec, prompt, replay_of FROM tasks WHERE id = ?1")
      .bind(newId)
      .first<{ spec: string; prompt: string; replay_of: string }>();
    expect(row).toEqual({
      spec: "Keep the public API; add a test per bug.",
      prompt: "Fix the parser\n\nInstructions from the reviewer:\nuse node:fs",
      replay_of: id,
    });
    // The agent got the reviewer's instructions with the prompt.
    expect(fake.jobs.get(`${newId}:1`)?.request.prompt).toContain("Instructions from the reviewer:\nuse node:fs");
  });

  it("halted: skipped by default; includeWaiting with budgetUsd replays with that budget", async () => {
    setExecutorFetch(new FakeExecutor(() => ({ errorKind: "api", costUsd: 0.03 })).fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const { taskId: id } = await post<{ taskId: string; status: string }>("/api/execute", {
      prompt: "Big refactor",
      repo: "demo",
      profile: "sonnet",
      budgetUsd: 0.02,
      kind: "replay-halted",
      waitSeconds: 0,
    });
    await waitForStatus(id, ["halted"]);
    expect(LIVE).toContain(await instanceStatus(id));

    const skipped = await post<ReplayReport>("/api/replay", { since: "1h", status: ["halted"], limit: 100 });
    expect(skipped.items.find((i) => i.originalId === id)?.reason).toMatch(
      /still (waiting|running), waiting for a budget raise, .*: raise its cap, or pass includeWaiting/,
    );
    expect(LIVE).toContain(await instanceStatus(id));

    setExecutorFetch(new FakeExecutor(() => ({ costUsd: 0.01 })).fetch);
    const real = await post<ReplayReport>("/api/replay", { taskId: id, includeWaiting: true, budgetUsd: 3 });
    expect(real).toMatchObject({ started: 1, errors: 0 });
    const newId = real.items[0]?.newTaskId as string;
    expect(await instanceStatus(id)).toBe("terminated");
    const row = await env.DB.prepare("SELECT budget_usd, replay_of FROM tasks WHERE id = ?1")
      .bind(newId)
      .first<{ budget_usd: number; replay_of: string }>();
    expect(row).toEqual({ budget_usd: 3, replay_of: id });
    expect(await waitForStatus(newId, ["succeeded", "failed", "halted"])).toBe("succeeded");
  });

  it("today's block: nothing is terminated and no replay row is left behind", async () => {
    setExecutorFetch(new FakeExecutor(() => ({ errorKind: "api" })).fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const { taskId: id } = await post<{ taskId: string }>("/api/execute", {
      prompt: "Hard one",
      repo: "demo",
      profile: "consensus",
      waitSeconds: 0,
    });
    await waitForStatus(id, ["needs_human"]);
    expect(LIVE).toContain(await instanceStatus(id));
    await setSpend(20, 20);
    const blocked = await post<ReplayReport>("/api/replay", { taskId: id, includeWaiting: true });
    expect(blocked.items).toEqual([
      {
        originalId: id,
        newTaskId: null,
        status: "error",
        reason: expect.stringMatching(/daily block; nothing was replayed or terminated/),
      },
    ]);
    expect(LIVE).toContain(await instanceStatus(id));
    const replays = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE replay_of = ?1")
      .bind(id)
      .first<{ n: number }>();
    expect(replays?.n).toBe(0);
    // The human can still answer it.
    await setSpend(0, 0);
    await post(`/api/tasks/${id}/decide`, { decision: "reject" }, 202);
    expect(await waitForStatus(id, ["failed"])).toBe("failed");
    // Ended on its own: replayed without includeWaiting.
    await until(
      () => instanceStatus(id),
      (s) => s === "complete" || s === "errored",
      "the rejected instance",
    );
    setExecutorFetch(new FakeExecutor(() => ({})).fetch);
    const after = await post<ReplayReport>("/api/replay", { taskId: id, fromTier: "sonnet" });
    expect(after).toMatchObject({ started: 1 });
    expect(await waitForStatus(after.items[0]?.newTaskId as string, ["succeeded", "failed"])).toBe("succeeded");
  });

  it("bad replay inputs are 400s that name the field", async () => {
    for (const [body, field] of [
      [{ taskId: "t-20200101-0000-aaaaaa", budgetUsd: 0 }, "budgetUsd"],
      [{ taskId: "t-20200101-0000-aaaaaa", budgetUsd: 1001 }, "budgetUsd"],
      [{ taskId: "t-20200101-0000-aaaaaa", includeWaiting: "yes" }, "includeWaiting"],
    ] as const) {
      const res = await api("/api/replay", { method: "POST", body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(field);
    }
  });
});

describe("a replay asks what the original asked", { timeout: 40_000 }, () => {
  const stagesOf = async (taskId: string) =>
    (
      await env.DB.prepare("SELECT profile, status FROM stages WHERE task_id = ?1 ORDER BY attempt")
        .bind(taskId)
        .all<{ profile: string; status: string }>()
    ).results.map((s) => `${s.profile} ${s.status}`);
  const askedBy = (taskId: string) =>
    env.DB.prepare("SELECT executor, profile, climb, verify FROM tasks WHERE id = ?1").bind(taskId).first();
  const replayOnce = async (body: Record<string, unknown>) => {
    const report = await post<ReplayReport>("/api/replay", body);
    expect(report, JSON.stringify(report)).toMatchObject({ started: 1, errors: 0 });
    return report.items[0]?.newTaskId as string;
  };

  it("executor claude: its replay runs claude once with the same verify; climb or fromTier change only that", async () => {
    // claude's direct profile (sonnet) fails; the rung above it (opus) would succeed.
    const fake = new FakeExecutor((profile) => (profile === "sonnet" ? { errorKind: "api" } : {}));
    setExecutorFetch(fake.fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const { taskId: id } = await post<{ taskId: string }>("/api/execute", {
      prompt: "Fix the flaky test",
      repo: "demo",
      executor: "claude",
      verify: ["npm", "test"],
      waitSeconds: 0,
    });
    expect(await waitForStatus(id, ["failed", "succeeded", "needs_human"])).toBe("failed");
    expect(await stagesOf(id)).toEqual(["sonnet failed"]);

    const same = await replayOnce({ taskId: id });
    expect(await waitForStatus(same, ["failed", "succeeded", "needs_human"])).toBe("failed");
    expect(await stagesOf(same)).toEqual(["sonnet failed"]);
    expect(await askedBy(same)).toEqual(await askedBy(id));
    expect(fake.jobs.get(`${same}:1`)?.request.verify).toEqual(["npm", "test"]);

    const climbing = await replayOnce({ taskId: id, climb: true, force: true });
    expect(await waitForStatus(climbing, ["failed", "succeeded", "needs_human"])).toBe("succeeded");
    expect(await stagesOf(climbing)).toEqual(["sonnet failed", "opus succeeded"]);
    expect(await askedBy(climbing)).toMatchObject({ executor: "claude", profile: "auto", climb: 1 });

    const pinned = await replayOnce({ taskId: id, fromTier: "opus", force: true });
    expect(await waitForStatus(pinned, ["failed", "succeeded", "needs_human"])).toBe("succeeded");
    expect(await stagesOf(pinned)).toEqual(["opus succeeded"]);
    expect(await askedBy(pinned)).toMatchObject({ executor: null, profile: "opus", climb: 1 });
  });

  it("a ladder task pinned to a profile replays pinned there; climb false runs it once", async () => {
    setExecutorFetch(new FakeExecutor(() => ({ errorKind: "api" })).fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const created = await post<{ id: string }>("/api/tasks", { prompt: "Tidy", repo: "demo", profile: "opus" }, 201);
    // Never executed: its replay runs on its own (a finished status is all a replay needs).
    await env.DB.prepare("UPDATE tasks SET status = 'failed' WHERE id = ?1").bind(created.id).run();
    const once = await replayOnce({ taskId: created.id, climb: false });
    expect(await waitForStatus(once, ["failed", "succeeded", "needs_human"])).toBe("failed");
    expect(await stagesOf(once)).toEqual(["opus failed"]);
    expect(await askedBy(once)).toMatchObject({ executor: null, profile: "opus", climb: 0 });
  });
});
