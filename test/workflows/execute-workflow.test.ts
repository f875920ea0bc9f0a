import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { startExecute } from "../../workflows/start.ts";
import { ExecuteInput } from "../../workflows/params.ts";
import { FakeExecutor, type Scenario } from "./fake-executor.ts";
import { seedTask, setSpend, stageRows, taskRow } from "./helpers.ts";

afterEach(async () => {
  setExecutorFetch(null);
  await env.DB.exec("DELETE FROM circuit_breaker; DELETE FROM model_stats;");
});

function useExecutor(scenario: (profile: string, attempt: number) => Scenario): FakeExecutor {
  const fake = new FakeExecutor(scenario);
  setExecutorFetch(fake.fetch);
  return fake;
}

async function run(taskId: string, extra: Partial<ExecuteInput> = {}) {
  return startExecute(env, ExecuteInput.parse({ prompt: "x", repo: "demo", taskId, waitSeconds: 0, ...extra }), { waitSeconds: 0 });
}

/** Seeds a task, runs its instance with retry delays off, and waits until it completes. */
async function runToCompletion(seed: Parameters<typeof seedTask>[0] = {}): Promise<string> {
  const taskId = await seedTask(seed);
  await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
  await instance.modify(async (m) => m.disableRetryDelays());
  await run(taskId);
  await instance.waitForStatus("complete");
  return taskId;
}

describe("ExecuteWorkflow", () => {
  it("runs the happy path: one dispatch, one stage row, succeeded with the result", async () => {
    const fake = useExecutor(() => ({ costUsd: 0.02 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    await run(taskId);
    await instance.waitForStatus("complete");
    expect(await instance.getOutput()).toMatchObject({ taskId, status: "succeeded", attempts: 1 });
    expect(await stageRows(taskId)).toEqual([{ attempt: 1, profile: "sonnet", status: "succeeded", cost_usd: 0.02, error_kind: null }]);
    const task = await taskRow(taskId);
    expect(task).toMatchObject({ status: "succeeded", cost_usd: 0.02, attempts: 1 });
    expect(task.result).toContain("flowchart");
    expect([...fake.spawns.values()]).toEqual([1]);
  });
});

describe("ExecuteWorkflow: faults and retries", () => {
  for (const stepName of ["init", "breaker-check #1", "dispatch sonnet #1", "write sonnet #1", "finish"]) {
    it(`completes when '${stepName}' fails once, with one stage row and one job per jobKey`, async () => {
      const fake = useExecutor(() => ({}));
      const taskId = await seedTask({ profile: "sonnet" });
      await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
      await instance.modify(async (m) => {
        await m.disableRetryDelays();
        await m.mockStepError({ name: stepName }, new Error("injected once"), 1);
      });
      await run(taskId);
      await instance.waitForStatus("complete");
      expect((await stageRows(taskId)).map((s) => [s.attempt, s.status])).toEqual([[1, "succeeded"]]);
      expect([...fake.spawns.entries()]).toEqual([[`${taskId}:1`, 1]]);
      expect((await taskRow(taskId)).status).toBe("succeeded");
    });
  }

  it("does not retry an executor 401 and ends failed with an error stage", async () => {
    const fake = useExecutor(() => ({ httpStatus: 401 }));
    const taskId = await runToCompletion({ profile: "sonnet" });
    expect(fake.calls.filter((c) => c === "POST /jobs")).toHaveLength(1);
    expect(await stageRows(taskId)).toEqual([{ attempt: 1, profile: "sonnet", status: "error", cost_usd: 0, error_kind: "auth" }]);
    const task = await taskRow(taskId);
    expect(task.status).toBe("failed");
    expect(task.error).toContain("EXECUTOR_SECRET");
  });

  it("retries an executor 503 and runs the CLI once", async () => {
    const fake = useExecutor(() => ({ httpStatus: 503, httpTimes: 2 }));
    const taskId = await runToCompletion({ profile: "sonnet" });
    expect(fake.calls.filter((c) => c === "POST /jobs")).toHaveLength(3);
    expect([...fake.spawns.values()]).toEqual([1]);
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("polls the executor when the callback is lost", async () => {
    const fake = useExecutor(() => ({ loseCallback: true, pollsBeforeDone: 2 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.forceEventTimeout({ name: "wait sonnet #1" });
    });
    await run(taskId);
    await instance.waitForStatus("complete");
    expect(fake.calls.filter((c) => c.startsWith("GET /jobs/")).length).toBeGreaterThanOrEqual(3);
    expect((await taskRow(taskId)).status).toBe("succeeded");
    expect(await stageRows(taskId)).toHaveLength(1);
  });

  it("keeps a 10 MiB CLI output out of step outputs and caps its transcript", async () => {
    const big = "x".repeat(10 * 1024 * 1024);
    const fake = new FakeExecutor(() => ({}));
    setExecutorFetch(async (input, init) => {
      const res = await fake.fetch(input, init);
      if (!(init?.method ?? "GET").startsWith("GET")) return res;
      const view = (await res.json()) as { result: { run: { text: string } } | null };
      if (view.result) view.result.run.text = big;
      return Response.json(view, { status: res.status });
    });
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    await run(taskId);
    await instance.waitForStatus("complete");
    const written = await instance.waitForStepResult({ name: "write sonnet #1" });
    expect(JSON.stringify(written).length).toBeLessThan(1024);
    const tr = await env.DB.prepare("SELECT bytes, truncated, length(content) AS len FROM transcripts WHERE task_id = ?1 AND kind = 'cli'").bind(taskId).first<{ bytes: number; truncated: number; len: number }>();
    expect(tr?.truncated).toBe(1);
    expect(tr?.bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(tr?.len).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe("ExecuteWorkflow: the ladder", () => {
  it("climbs on a failed run and on a failed verify, then succeeds", async () => {
    useExecutor((profile) =>
      profile === "deepseek" ? { errorKind: "api" } : profile === "gemini-flash" ? { verifyFails: true } : {},
    );
    const taskId = await runToCompletion({ profile: "auto", verify: ["npm", "test"] });
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status, s.error_kind])).toEqual([
      ["deepseek", "failed", "api"],
      ["gemini-flash", "failed", "verify"],
      ["gemini-pro", "succeeded", null],
    ]);
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("skips a profile in cooldown", async () => {
    useExecutor(() => ({}));
    await env.DB.prepare(
      "INSERT INTO model_stats (profile, task_kind, runs, failures, consecutive_failures, cooldown_until, updated_at) VALUES ('deepseek', 'general', 3, 3, 3, ?1, ?1)",
    )
      .bind(Date.now() + 3_600_000)
      .run();
    const taskId = await runToCompletion({ profile: "auto" });
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["gemini-flash"]);
  });

  it("puts a profile in cooldown after three consecutive failures", async () => {
    useExecutor((profile) => (profile === "opus" ? {} : { errorKind: "api" }));
    for (let i = 0; i < 3; i++) {
      const taskId = await runToCompletion({ profile: "sonnet" });
    }
    const row = await env.DB.prepare("SELECT consecutive_failures, cooldown_until FROM model_stats WHERE profile = 'sonnet'").first<{ consecutive_failures: number; cooldown_until: number | null }>();
    expect(row?.consecutive_failures).toBe(3);
    expect(row?.cooldown_until).toBeGreaterThan(Date.now());
  });

  it("waits for a human at the top, and a human retry resumes with the chosen profile", async () => {
    useExecutor((profile, attempt) => (attempt === 7 && profile === "sonnet" ? {} : { errorKind: "api" }));
    const taskId = await seedTask({ profile: "auto" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.mockEvent({ type: "human", payload: { decision: "retry", profile: "sonnet", instructions: "use node:fs", actor: "alice" } });
    });
    await run(taskId);
    await instance.waitForStatus("complete");
    const stages = await stageRows(taskId);
    expect(stages.map((s) => s.profile)).toEqual(["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus", "sonnet"]);
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("ends needs_human when no human answers in time", async () => {
    useExecutor(() => ({ errorKind: "api" }));
    const taskId = await seedTask({ profile: "opus" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.forceEventTimeout({ name: "human #1" });
    });
    await run(taskId);
    await instance.waitForStatus("complete");
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["opus", "consensus"]);
    expect((await taskRow(taskId)).status).toBe("needs_human");
  });
});

describe("ExecuteWorkflow: breakers", () => {
  it("halts at the $5 task cap, then a budget event resumes it", async () => {
    useExecutor((_p, attempt) => (attempt === 1 ? { errorKind: "api", costUsd: 5 } : { costUsd: 0.5 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.mockEvent({ type: "budget", payload: { capUsd: 10, actor: "alice" } });
    });
    await run(taskId);
    await instance.waitForStatus("complete");
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["sonnet", "failed"],
      ["opus", "succeeded"],
    ]);
    const task = await taskRow(taskId);
    expect(task.status).toBe("succeeded");
    expect(JSON.parse(task.flags)).toContain("task_warn");
  });

  it("ends halted when nobody raises the cap", async () => {
    useExecutor(() => ({ errorKind: "api", costUsd: 4.99 }));
    const taskId = await seedTask({ profile: "opus", budgetUsd: 5 });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.forceEventTimeout({ name: "budget #1" });
    });
    await run(taskId);
    await instance.waitForStatus("complete");
    // $4.99 after attempt 1 is under the cap: attempt 2 runs; $9.98 then halts.
    expect(await stageRows(taskId)).toHaveLength(2);
    expect((await taskRow(taskId)).status).toBe("halted");
  });

  it("warns at $2.00 but not at $1.99", async () => {
    for (const [cost, warned] of [
      [1.99, false],
      [2.0, true],
    ] as const) {
      useExecutor(() => ({ costUsd: cost }));
      const taskId = await runToCompletion({ profile: "sonnet" });
      expect(JSON.parse((await taskRow(taskId)).flags).includes("task_warn")).toBe(warned);
    }
  });

  it("refuses new tasks at $20 today with no executor call, and runs at $19.99", async () => {
    const fake = useExecutor(() => ({}));
    await setSpend(20, 20);
    await expect(startExecute(env, ExecuteInput.parse({ prompt: "x", repo: "demo", waitSeconds: 0 }), { waitSeconds: 0 })).rejects.toThrow(/daily block/);
    expect(fake.calls).toEqual([]);
    await setSpend(19.99, 19.99);
    const taskId = await runToCompletion({ profile: "sonnet" });
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("blocks a running task when today's spend crosses $20 mid-task", async () => {
    const fake = useExecutor(() => ({ errorKind: "api", costUsd: 0.02 }));
    await setSpend(19.99, 19.99);
    const taskId = await runToCompletion({ profile: "sonnet" });
    expect(fake.calls.filter((c) => c === "POST /jobs")).toHaveLength(1);
    expect((await taskRow(taskId)).status).toBe("blocked");
  });

  it("flags results at $80 this month but not at $79.99", async () => {
    for (const [month, flagged] of [
      [79.99, false],
      [80, true],
    ] as const) {
      // A free run: the month total stays where the test put it.
      useExecutor(() => ({ costUsd: 0 }));
      await setSpend(0, month);
      const taskId = await runToCompletion({ profile: "sonnet" });
      const task = await taskRow(taskId);
      expect(task.status).toBe("succeeded");
      expect(JSON.parse(task.flags).includes("month_flag")).toBe(flagged);
    }
  });
});

describe("execute and state", () => {
  it("refuses a duplicate execute of the same task id", async () => {
    useExecutor(() => ({}));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    await run(taskId);
    await expect(run(taskId)).rejects.toThrow(/only a task created with 'workflow init'/);
    await expect(env.EXECUTE_WORKFLOW.create({ id: taskId, params: { taskId, profile: "sonnet", repo: "demo", verbosity: "mermaid", kind: "general" } })).rejects.toThrow(/already.exists/);
    await instance.waitForStatus("complete");
  });

  it("answers running first, then state returns the result", async () => {
    useExecutor(() => ({ loseCallback: true }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.forceEventTimeout({ name: "wait sonnet #1" });
    });
    const first = await run(taskId);
    expect(first.status).toBe("running");
    expect(first.progress).toContain("flowchart");
    await instance.waitForStatus("complete");
    const { getTaskState } = await import("../../workflows/start.ts");
    const later = await getTaskState(env, taskId);
    expect(later).toMatchObject({ status: "succeeded", costUsd: 0.01 });
    expect(later?.result).toContain("flowchart");
  });
});
