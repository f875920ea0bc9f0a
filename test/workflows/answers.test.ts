/**
 * Issue "nothing lost, nothing paid twice": one answer per wait, a client retry of execute pays
 * once, a replay chain shares one cap.
 */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decide, raiseBudget } from "../../worker/services/events.ts";
import { ExecuteInput, startExecute } from "../../worker/services/execute.ts";
import { createTask } from "../../worker/services/tasks.ts";
import {
  expectEnded,
  resetBetweenTests,
  run,
  seedTask,
  stageRows,
  taskRow,
  useExecutor,
  waitForEnd,
} from "./helpers.ts";

resetBetweenTests();

/** Polls the task row until it waits for `type` (the instance reached that wait). */
async function waitsFor(taskId: string, type: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const row = await env.DB.prepare("SELECT waiting_for AS w FROM tasks WHERE id = ?1")
      .bind(taskId)
      .first<{ w: string | null }>();
    if (row?.w === type) return;
    if (Date.now() > deadline) throw new Error(`task ${taskId} never waited for ${type} (now ${row?.w})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("one answer per wait", { timeout: 30_000 }, () => {
  it("a duplicate decision is a 409 and does not answer the next wait", async () => {
    const fake = useExecutor(() => ({ errorKind: "api" }));
    const taskId = await seedTask({ profile: "consensus" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    await run(taskId);
    await waitsFor(taskId, "human-1");
    const retry = { decision: "retry" as const, profile: "opus" as const, actor: "alice" };
    const [first, second] = await Promise.allSettled([
      decide(env, taskId, retry, Date.now()),
      decide(env, taskId, retry, Date.now()),
    ]);
    expect([first.status, second.status].sort()).toEqual(["fulfilled", "rejected"]);
    const refused = first.status === "rejected" ? first.reason : second.status === "rejected" ? second.reason : null;
    expect(refused).toMatchObject({ code: "conflict" });
    // The retry ran opus, which failed too: the task waits again, for a new answer.
    await waitsFor(taskId, "human-2");
    // A late copy of the first answer names the wait it was meant for: refused, the new wait stays open.
    await expect(decide(env, taskId, { ...retry, wait: "human-1" }, Date.now())).rejects.toMatchObject({
      code: "conflict",
    });
    expect((await taskRow(taskId)).status).toBe("needs_human");
    // The new wait still takes its own answer.
    await decide(env, taskId, { decision: "reject", actor: "bob", wait: "human-2" }, Date.now());
    const ran = await waitForEnd(taskId);
    await expectEnded(ran, "failed");
    expect((await taskRow(taskId)).error).toBe("rejected by bob");
    // opus failed, then the ladder climbed from it to consensus again.
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["consensus", "opus", "consensus"]);
    expect(fake.postCount()).toBe(3);
    const decisions = await env.DB.prepare("SELECT count(*) AS n FROM decisions WHERE task_id = ?1 AND kind = 'human'")
      .bind(taskId)
      .first("n");
    expect(decisions).toBe(2);
  });

  it("a budget raise answers one halt; a second raise of the same halt is a 409", async () => {
    useExecutor(() => ({ costUsd: 5 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await env.DB.prepare("UPDATE tasks SET cost_usd = 5 WHERE id = ?1").bind(taskId).run();
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    await run(taskId);
    await waitsFor(taskId, "budget-1");
    await expect(raiseBudget(env, taskId, { capUsd: 4, actor: "alice" }, Date.now())).rejects.toMatchObject({
      code: "invalid_input",
    });
    await raiseBudget(env, taskId, { capUsd: 20, actor: "alice", wait: "budget-1" }, Date.now());
    await expect(
      raiseBudget(env, taskId, { capUsd: 30, actor: "alice", wait: "budget-1" }, Date.now()),
    ).rejects.toMatchObject({
      code: "conflict",
    });
    const ran = await waitForEnd(taskId);
    await expectEnded(ran, "succeeded");
    expect((await taskRow(taskId)).budget_usd).toBe(20);
  });
});

describe("a client retry pays once", { timeout: 30_000 }, () => {
  it("the same idempotencyKey returns the same task; another request with it is a 409", async () => {
    const fake = useExecutor(() => ({}));
    const input = { prompt: "Create hello.txt", repo: "demo", idempotencyKey: "claude-call-42", waitSeconds: 0 };
    const first = await startExecute(env, ExecuteInput.parse(input), { waitSeconds: 0 });
    await waitForEnd(first.taskId);
    const again = await startExecute(env, ExecuteInput.parse(input), { waitSeconds: 0 });
    expect(again.taskId).toBe(first.taskId);
    expect(again.status).toBe("succeeded");
    await expect(
      startExecute(env, ExecuteInput.parse({ ...input, prompt: "Something else" }), { waitSeconds: 0 }),
    ).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining(first.taskId) });
    expect(fake.postCount()).toBe(1);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE idempotency_key = 'claude-call-42'").first(
      "n",
    );
    expect(n).toBe(1);
  });
});

describe("a replay chain shares one cap", { timeout: 30_000 }, () => {
  it("the original's spend counts against its replay's cap; a raised budget on the replay lifts it", async () => {
    useExecutor(() => ({ costUsd: 1 }));
    const original = await seedTask({ profile: "sonnet", budgetUsd: 3 });
    await env.DB.prepare("UPDATE tasks SET status = 'failed', cost_usd = 3 WHERE id = ?1").bind(original).run();
    const replay = await createTask(
      env.DB,
      {
        prompt: "Create hello.txt",
        repo: "demo",
        verbosity: "mermaid",
        kind: "general",
        profile: "sonnet",
        budgetUsd: 3,
        replayOf: original,
      },
      Date.now(),
    );
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, replay.id);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.forceEventTimeout({ name: "budget #1" });
    });
    await run(replay.id);
    const ran = await waitForEnd(replay.id);
    // $3 spent by the original already reaches the chain's $3 cap: the replay halts before any run.
    await expectEnded(ran, "halted");
    expect(await stageRows(replay.id)).toEqual([]);
    const raised = await createTask(
      env.DB,
      {
        prompt: "Create hello.txt",
        repo: "demo",
        verbosity: "mermaid",
        kind: "general",
        profile: "sonnet",
        budgetUsd: 10,
        replayOf: replay.id,
      },
      Date.now(),
    );
    expect(
      await env.DB.prepare("SELECT replay_root FROM tasks WHERE id = ?1").bind(raised.id).first("replay_root"),
    ).toBe(original);
    await using again = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, raised.id);
    await again.modify(async (m) => m.disableRetryDelays());
    await run(raised.id);
    await expectEnded(await waitForEnd(raised.id), "succeeded");
  });
});
