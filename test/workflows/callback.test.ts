/** POST /api/callback/:taskId through the Worker's fetch handler: HMAC, ownership, and the event it sends. */

import { introspectWorkflowInstance } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { JobView, SIGNATURE_HEADER, signBody } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { finishedJobFromEvent, MAX_EVENT_BYTES, slimJobView } from "../../workflows/result-event.ts";
import { resetBetweenTests, run, seedTask, taskRow, useExecutor } from "./helpers.ts";

resetBetweenTests();

const SECRET = "test-callback-secret";

function view(taskId: string, textBytes = 10): JobView {
  const now = new Date().toISOString();
  return JobView.parse({
    jobId: "job-cb",
    jobKey: `${taskId}:1`,
    status: "succeeded",
    createdAt: now,
    startedAt: now,
    finishedAt: now,
    result: {
      ok: true,
      profile: "sonnet",
      run: {
        ok: true,
        cli: "claude",
        text: "y".repeat(textBytes),
        exitCode: 0,
        signal: null,
        durationMs: 5,
        costUsd: 0.01,
        costSource: "computed",
        tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
        model: "m",
        sessionId: null,
        truncated: false,
      },
      files: Array.from({ length: 500 }, (_, i) => ({ path: `src/f${i}.ts`, added: 1, deleted: 0 })),
      branch: "b",
      commit: "c",
      verify: { command: ["npm", "test"], ok: true, exitCode: 0, durationMs: 1, output: "z".repeat(textBytes) },
      compressed: "flowchart LR\n  A",
      costUsd: 0.01,
    },
  });
}

async function post(taskId: string, body: string, signature: string | null): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://localhost/api/callback/${taskId}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...(signature ? { [SIGNATURE_HEADER]: signature } : {}) },
    }),
  );
}

describe("executor callback", () => {
  it("refuses a missing, wrong or stale signature with 401, before looking at the body", async () => {
    const taskId = await seedTask();
    const body = JSON.stringify(view(taskId));
    expect((await post(taskId, body, null)).status).toBe(401);
    expect((await post(taskId, body, await signBody("wrong-secret", body))).status).toBe(401);
    expect((await post(taskId, body, await signBody(SECRET, body, Math.floor(Date.now() / 1000) - 3600))).status).toBe(
      401,
    );
    expect((await post(taskId, "not json at all", null)).status).toBe(401);
  });

  it("refuses a signed body that is not a JobView (400), another task's job (400), a task with no instance (404)", async () => {
    const taskId = await seedTask();
    const signed = async (b: string) => post(taskId, b, await signBody(SECRET, b));
    expect((await signed(JSON.stringify({ hello: 1 }))).status).toBe(400);
    expect((await signed(JSON.stringify(view("t-20260101-0000-other1")))).status).toBe(400);
    expect((await signed(JSON.stringify(view(taskId)))).status).toBe(404);
  });

  it("wakes the instance's wait with the slimmed JobView: no poll, the task succeeds", async () => {
    const fake = useExecutor(() => ({ loseCallback: true }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    await run(taskId);
    while (!fake.jobs.has(`${taskId}:1`)) await new Promise((r) => setTimeout(r, 5));
    // A 3 MiB view (two outputs near the executor's cap) is over the API's body limit but a valid callback.
    const full = { ...(fake.jobs.get(`${taskId}:1`)?.view as JobView) };
    const big = JSON.stringify({
      ...full,
      result: full.result && { ...full.result, run: { ...full.result.run, text: "x".repeat(3 * 1024 * 1024) } },
    });
    const res = await post(taskId, big, await signBody(SECRET, big));
    expect(res.status).toBe(202);
    await instance.waitForStatus("complete");
    expect(fake.calls.filter((c) => c.startsWith("GET /jobs"))).toHaveLength(1); // the write step's read, no poll
    expect((await taskRow(taskId)).status).toBe("succeeded");
    // The same callback again: the task has finished and no longer wants it (the executor stops on 409).
    const again = await post(taskId, big, await signBody(SECRET, big));
    expect(again.status).toBe(409);
  });
});

describe("result event", () => {
  it("slimJobView keeps a valid JobView under the event budget, even with 10 MiB outputs", () => {
    const v = view("t-20261124-1530-ab12cd", 10 * 1024 * 1024);
    const slim = slimJobView(v);
    expect(JobView.safeParse(slim).success).toBe(true);
    expect(new TextEncoder().encode(JSON.stringify(slim)).byteLength).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(slim).toMatchObject({ jobId: "job-cb", status: "succeeded", result: { ok: true, costUsd: 0.01 } });
    expect(slim.result?.files).toHaveLength(20);
  });

  it("finishedJobFromEvent: only a valid, finished view of the dispatched job counts", () => {
    const v = view("t-20261124-1530-ab12cd");
    expect(finishedJobFromEvent(v, "job-cb")).toEqual(v);
    expect(finishedJobFromEvent(v, "job-other")).toBeNull();
    expect(finishedJobFromEvent({ ...v, status: "running" }, "job-cb")).toBeNull();
    expect(finishedJobFromEvent({ jobId: "job-cb" }, "job-cb")).toBeNull();
    expect(finishedJobFromEvent(null, "job-cb")).toBeNull();
  });
});
