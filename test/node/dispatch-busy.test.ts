/**
 * A full queue is back-pressure, never a task failure while time is left: twelve tasks dispatch at
 * once to a real executor (a process, MAX_EXECUTORS=1, MAX_QUEUE=1, each job about a second), each
 * retrying POST /jobs on the Worker's own dispatch schedule (workflows/retry-delay.ts: the retry
 * count and the delay function the ExecuteWorkflow's dispatch step is configured with, the
 * executor's Retry-After honoured), the way the Workflows engine runs a step's retries: the first
 * try, then `limit` more, each after `delay`. The Worker's clock runs 30 times faster than the jobs
 * (every delay is divided by 30), so minutes of retries take seconds: the jobs are as long, for the
 * schedule, as 30-second runs. Every task gets its job in, and every job runs. (The same schedule in
 * the real engine against a fake executor that answers 429 thirty times: test/workflows.)
 */
import type { ChildProcess } from "node:child_process";
import { JobView } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, harness, job, SECRET, spawnExecutor, waitJob } from "../../executor/test/server/harness.ts";
import { dispatchRetries, dispatchWaitMs, parseRetryAfter } from "../../workflows/retry-delay.ts";

/** The Worker's clock against the jobs'. */
const SCALE = 30;
/** wrangler.toml's JOB_TIMEOUT_MS. */
const JOB_TIMEOUT_MS = 180_000;

let h: Harness;
let executor: { child: ChildProcess; url: string };
beforeAll(async () => {
  h = harness({ MAX_EXECUTORS: "1", MAX_QUEUE: "1" });
  executor = await spawnExecutor(h);
});
afterAll(() => {
  executor?.child.kill("SIGKILL");
  h?.cleanup();
});

/** One dispatch step: POST /jobs, a 429 retried on the schedule; the job id, or the refusal it ended on. */
async function dispatch(body: unknown): Promise<{ jobId: string; tries: number } | { refused: number; tries: number }> {
  const { limit, delay } = dispatchRetries(JOB_TIMEOUT_MS);
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${executor.url}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-auth-token": SECRET },
      body: JSON.stringify(body),
    });
    if (res.status === 202) return { jobId: JobView.parse(await res.json()).jobId, tries: attempt };
    await res.body?.cancel();
    if (res.status !== 429 || attempt > limit) return { refused: res.status, tries: attempt };
    // What the Worker's client makes of a 429 (workflows/executor-client.ts): a busy error with the wait.
    const error = Object.assign(new Error("executor busy"), {
      retryAfterMs: parseRetryAfter(res.headers.get("retry-after")),
    });
    await new Promise((r) => setTimeout(r, delay({ ctx: { attempt }, error }) / SCALE));
  }
}

describe("dispatch against a full queue", () => {
  it("the schedule keeps trying for 5 job timeouts (at least 4 minutes), at most 20 s apart", () => {
    const { limit, delay } = dispatchRetries(JOB_TIMEOUT_MS);
    const plain = new Error("executor unreachable");
    const waits = Array.from({ length: limit }, (_, i) => delay({ ctx: { attempt: i + 1 }, error: plain }));
    expect(Math.max(...waits)).toBe(20_000);
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(dispatchWaitMs(JOB_TIMEOUT_MS));
    expect(dispatchWaitMs(JOB_TIMEOUT_MS)).toBe(15 * 60_000);
    expect(dispatchWaitMs(20_000)).toBe(4 * 60_000);
  });

  it("twelve tasks, one slot and one queue place: every dispatch gets in, none fails busy, every job runs", async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => dispatch(job({ prompt: `sleep:700 write:f${i}.txt` }))),
    );
    const refused = answers.filter((a) => "refused" in a);
    expect(refused).toEqual([]);
    // The queue was full for most of them, most of the time.
    expect(answers.filter((a) => a.tries > 8).length).toBeGreaterThan(0);
    for (const a of answers) {
      if (!("jobId" in a)) continue;
      expect(JobView.parse(await waitJob(executor.url, a.jobId, 60_000)).status).toBe("succeeded");
    }
    expect(h.spawns()).toHaveLength(12);
  }, 120_000);
});
