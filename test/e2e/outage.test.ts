/**
 * Outages of the real stack (issue 18): wrangler dev SIGKILLed, with its whole process group, for 90 s
 * while a task waits for its job, and the executor finishes the job meanwhile. Wrangler's local engine
 * resumes no instance by itself after a restart and the job's callback cannot help: the executor here
 * signs with another secret, so every callback is refused. The task must end on its own: the stack's
 * cron tick (reconcile) finds the finished job and sends the instance the result it waits for.
 * Then the local state is pruned of finished instances past their retention.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localWrangler, pruneFinishedInstances } from "../../scripts/prune-instances.ts";
import { ROOT } from "../../scripts/stack.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";

/** Over the old failure mode: the callback's six tries (~1 min) and more than one wait period. */
const OUTAGE_MS = 90_000;
/** How often this stack runs the cron handler (npm start: every 60 s). */
const TICK_MS = 5_000;

let e: E2E;

beforeAll(async () => {
  e = await startE2E(
    { opus: "hang" },
    {},
    // Every callback is refused (a bad signature): only the Worker's own polls and reconcile remain.
    { CALLBACK_SECRET: "not-the-workers-callback-secret-0123456789" },
    { reconcileEveryMs: TICK_MS },
  );
}, 120_000);
afterAll(async () => {
  await e?.stop();
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function execute(body: Record<string, unknown>): Promise<string> {
  const res = await e.api("/api/execute", {
    method: "POST",
    body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", waitSeconds: 0, ...body }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { taskId: string }).taskId;
}

interface Described {
  status: string;
}
const describeInstance = (taskId: string) =>
  JSON.parse(e.wrangler(["workflows", "instances", "describe", "execute-workflow", taskId, "--json"])) as Described;

describe("outages", () => {
  it("wrangler killed for 90 s mid-wait while the executor finishes the job: the task ends succeeded by itself", async () => {
    const before = e.mock.requests().length;
    const taskId = await execute({ profile: "sonnet" });
    // The CLI has reached the model: the job runs, the instance waits in `wait sonnet #1.1`.
    for (const deadline = Date.now() + 30_000; e.mock.requests().length === before && Date.now() < deadline; )
      await sleep(20);
    expect(e.mock.requests().length).toBeGreaterThan(before);
    await e.stack.stopWorker("SIGKILL");
    await sleep(OUTAGE_MS);
    const restartedAt = Date.now();
    await e.stack.startWorker();
    const answeringAt = Date.now();
    // Bounded: one cron tick of this stack (5 s; npm start's is 60 s) after wrangler answers, plus the replay.
    const s = await waitState(e, taskId, 2 * TICK_MS + 10_000);
    const endedAt = Date.now();
    console.log(
      `down ${OUTAGE_MS / 1000} s; wrangler answered ${((answeringAt - restartedAt) / 1000).toFixed(1)} s after its restart; the task ended ${((endedAt - answeringAt) / 1000).toFixed(1)} s later`,
    );
    expect(s.status, s.error).toBe("succeeded");
    // One run, written once, by the instance itself.
    const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
      stages: { attempt: number; status: string; costUsd: number; jobId: string }[];
    };
    expect(detail.stages.map((x) => [x.attempt, x.status])).toEqual([[1, "succeeded"]]);
    expect(s.costUsd).toBeCloseTo(detail.stages[0]?.costUsd ?? -1, 10);
    // The job had finished on the executor during the outage, and its callback was never accepted.
    const job = (await (
      await fetch(`${e.stack.executorUrl}/jobs/${detail.stages[0]?.jobId}`, {
        headers: { "x-auth-token": e.stack.secrets.EXECUTOR_SECRET },
      })
    ).json()) as { status: string; finishedAt: string };
    expect(job.status).toBe("succeeded");
    expect(Date.parse(job.finishedAt)).toBeLessThan(restartedAt);
    expect(describeInstance(taskId).status.toLowerCase()).toBe("complete");
  }, 180_000);

  it("npm start's prune deletes finished instances past their retention, with their state files; a running one and every task row stay", async () => {
    const ok = await execute({ profile: "gemini-flash" });
    const failed = await execute({ profile: "sonnet", repo: "no-such-repo" });
    expect((await waitState(e, ok, 90_000)).status).toBe("succeeded");
    expect((await waitState(e, failed, 90_000)).status).toBe("failed");
    const running = await execute({ profile: "opus" }); // its model never answers: it runs for the job timeout
    const dir = path.join(e.dir, "state", "wrangler", "v3", "workflows", "miniflare-workflows-execute-workflow");
    const files = () => readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
    expect(existsSync(dir)).toBe(true);
    const filesBefore = files().length;
    const wrangler = localWrangler(ROOT, Number(new URL(e.stack.workerUrl).port));

    // Nothing is past its retention yet.
    expect(await pruneFinishedInstances(wrangler)).toEqual([]);
    // Four days on, every finished one is (1 day succeeded, 3 days otherwise).
    const deleted = await pruneFinishedInstances(wrangler, Date.now() + 4 * 86_400_000);
    expect(deleted).toEqual(expect.arrayContaining([ok, failed]));
    expect(deleted).not.toContain(running);
    expect(files().length).toBe(filesBefore - deleted.length);
    const listed = JSON.parse(e.wrangler(["workflows", "instances", "list", "execute-workflow", "--json"])) as {
      id: string;
    }[];
    expect(listed.map((i) => i.id)).toEqual([running]);
    // The tasks are D1's: still there, with how they ended.
    expect((await waitState(e, ok, 1)).status).toBe("succeeded");
    expect((await waitState(e, failed, 1)).status).toBe("failed");
    expect((await e.api(`/api/tasks/${ok}`)).status).toBe(200);
  }, 150_000);
});
