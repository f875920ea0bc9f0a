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
