/** SIGTERM against the executor as a real process (what systemd sends on stop and restart). */
import type { ChildProcess } from "node:child_process";
import { JobView } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import {
  exited,
  type Harness,
  harness,
  job,
  liveProcesses,
  post,
  spawnExecutor,
  until,
  waitJob,
} from "../server/harness.ts";

let h: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (h) for (const pid of liveProcesses(h.dir)) process.kill(pid, "SIGKILL");
  h?.cleanup();
  h = undefined;
});

async function boot(extra: Record<string, string> = {}) {
  const s = await spawnExecutor(h as Harness, extra);
  children.push(s.child);
  return s;
}

describe("SIGTERM", () => {
  it("503 for new jobs at once; the running job finishes within the grace; the queued one stays queued and runs after the next start; exit 0", async () => {
    h = harness({ SHUTDOWN_GRACE_MS: "8000", MAX_EXECUTORS: "1" });
    const { child, url } = await boot();
    const running = JobView.parse(await (await post(`${url}/jobs`, job({ prompt: "sleep:1500 write:x.txt" }))).json());
    const queued = JobView.parse(await (await post(`${url}/jobs`, job({ prompt: "write:y.txt" }))).json());
    await until(() => h?.spawns().length === 1, 10_000, "the CLI to start");

    const t0 = Date.now();
    child.kill("SIGTERM");
    let refused: Response;
    do refused = await post(`${url}/jobs`, job());
    while (refused.status === 202 && Date.now() - t0 < 1_000);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(1_000);
    // Polling still works while draining.
    expect(
      JobView.parse(
        await (
          await fetch(`${url}/jobs/${queued.jobId}`, { headers: { "x-auth-token": h.env.EXECUTOR_SECRET as string } })
        ).json(),
      ).status,
    ).toBe("queued");

    expect(await exited(child)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8_000);

    const again = await boot();
    expect(again.output()).toMatch(/"interruptedAtStart":0,"requeuedAtStart":1/);
    expect(JobView.parse(await waitJob(again.url, running.jobId, 2_000)).status).toBe("succeeded");
    expect(JobView.parse(await waitJob(again.url, queued.jobId, 10_000)).status).toBe("succeeded");
    expect(h.spawns()).toHaveLength(2);
  });

  it("a job still running when the grace ends is killed with its tree, reads interrupted, and the executor exits 0", async () => {
    h = harness({ SHUTDOWN_GRACE_MS: "500", KILL_GRACE_MS: "300" });
    const { child, url } = await boot();
    const hung = JobView.parse(await (await post(`${url}/jobs`, job({ prompt: "hang" }))).json());
    await until(() => h?.spawns().length === 1, 10_000, "the CLI to start");
    // While a slow /execute caller waits on a job, shutdown must still answer it.
    const waiting = post(`${url}/execute`, job({ prompt: "hang" }));
    await until(() => h?.spawns().length === 2, 10_000, "the second CLI to start");

    const t0 = Date.now();
    child.kill("SIGTERM");
    const waited = await waiting;
    expect(waited.status).toBe(200);
    expect(JobView.parse(await waited.json()).status).toBe("interrupted");
    expect(await exited(child)).toBe(0);
    // grace 0.5 s + kill grace 0.3 s + callback flush and cleanup: far below systemd's 40 s.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(liveProcesses(h.dir, "fake-claude")).toEqual([]);

    const again = await boot();
    const view = JobView.parse(await waitJob(again.url, hung.jobId, 2_000));
    expect(view.status).toBe("interrupted");
    expect(view.result?.run.error?.kind).toBe("interrupted");
  });
});
