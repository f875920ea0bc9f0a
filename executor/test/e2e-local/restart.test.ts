/**
 * The executor as a real process, killed with SIGKILL mid-job and started again on the same data: the
 * running job reads interrupted with its cost, the queued ones are re-queued and run (a restart never
 * makes a job that did not start read interrupted, so it never counts against a pinned profile).
 * Checklist item 16 is read from the job store itself (jobs.sqlite), not from the API.
 */

import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { JobView, verifyBody } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { callbackReceiver, type Received } from "../callback/receiver.ts";
import {
  CALLBACK_SECRET,
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
const servers: Server[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of servers.splice(0)) s.close();
  if (h) for (const pid of liveProcesses(h.dir)) process.kill(pid, "SIGKILL");
  h?.cleanup();
  h = undefined;
});

/** Records signed callbacks; answers 200. */
async function receiver(): Promise<{ url: string; got: Received[] }> {
  const r = await callbackReceiver();
  servers.push(r.server);
  return r;
}

/**
 * SIGKILL the executor and start a new one on the same data. The CLI runs in its own process group and
 * outlives the kill; the new executor kills it before it takes a job (orphans.test.ts).
 */
async function killAndRestart(h: Harness, first: ChildProcess): Promise<Awaited<ReturnType<typeof spawnExecutor>>> {
  first.kill("SIGKILL");
  await exited(first);
  const second = await spawnExecutor(h);
  children.push(second.child);
  expect(liveProcesses(h.dir, "fake-claude")).toEqual([]);
  return second;
}

describe("kill -9 and restart", () => {
  it("the running job reads interrupted with what it spent, the queued ones run after the restart (none reads interrupted), nothing stays running, callbacks are sent", async () => {
    h = harness({ MAX_EXECUTORS: "1", LOG_LEVEL: "info", WORKTREE_POOL: "1" });
    const cb = await receiver();
    const first = await spawnExecutor(h);
    children.push(first.child);
    // A finished job first: its cleaned tree waits in the (in-memory) pool when the process dies.
    expect(JobView.parse(await (await post(`${first.url}/execute`, job())).json()).status).toBe("succeeded");
    // The running job logs a model response (500,000 input tokens) before it hangs.
    const running = JobView.parse(
      await (await post(`${first.url}/jobs`, job({ prompt: "spend:500000 hang", callbackUrl: cb.url }))).json(),
    );
    const queued = await Promise.all(
      ["q1", "q2", "q3"].map(async (name) =>
        JobView.parse(
          await (await post(`${first.url}/jobs`, job({ prompt: `write:${name}.txt`, callbackUrl: cb.url }))).json(),
        ),
      ),
    );
    for (const q of queued) expect(q.status).toBe("queued");
    await until(() => h?.spawns().length === 2, 10_000, "the CLI to start");
    const data = path.join(h.dir, "data");
    const worktrees = path.join(h.dir, "worktrees", "demo");
    await until(() => existsSync(path.join(data, "homes", running.jobId)), 5_000, "the running job's home");
    // Left on disk by the kill: the running job's home and tree, and the pooled tree unless the
    // running job took it (recycling runs after the first job's answer, so either may happen).
    const trees = readdirSync(worktrees).filter((n) => !n.includes(".state")).length;
    expect(trees).toBeGreaterThanOrEqual(1);

    const second = await killAndRestart(h, first.child);
    expect(second.output()).toMatch(/"event":"listening".*"interruptedAtStart":1,"requeuedAtStart":3/);
    // Before it listened, the disk was reconciled with the store: no home, no tree of a dead job, no stale pool.
    expect(second.output()).toMatch(
      new RegExp(`"event":"disk_reconciled".*"homesRemoved":1,"worktreesRemoved":${trees}`),
    );
    // The jobs that never started run now, under the same id and key, one after the other.
    for (const q of queued) {
      const view = JobView.parse(await waitJob(second.url, q.jobId, 20_000));
      expect(view).toMatchObject({ jobId: q.jobId, jobKey: q.jobKey, status: "succeeded" });
    }
    const killed = JobView.parse(await waitJob(second.url, running.jobId, 2_000));
    expect(killed.status).toBe("interrupted");
    expect(killed.finishedAt).not.toBeNull();
    // What the killed run had spent, from its CLI's session log: 500,000 × $2 per million (sonnet, claude's list price).
    expect(killed.result).toMatchObject({
      ok: false,
      costUsd: 1,
      run: { error: { kind: "interrupted" }, costSource: "computed", tokens: { input: 500_000 } },
    });
    const health = (await (await fetch(`${second.url}/health`)).json()) as { running: number; queued: number };
    expect(health).toMatchObject({ running: 0, queued: 0 });
    // Owed callbacks are delivered by the new process, signed: one per job, each with its end.
    await until(() => cb.got.length === 4, 10_000, "four callbacks");
    const views = [];
    for (const { sig, body } of cb.got) {
      expect(await verifyBody(CALLBACK_SECRET, body, sig)).toBe(true);
      views.push(JobView.parse(JSON.parse(body)));
    }
    expect(Object.fromEntries(views.map((v) => [v.jobId, v.status]))).toEqual({
      [running.jobId]: "interrupted",
      ...Object.fromEntries(queued.map((q) => [q.jobId, "succeeded"])),
    });
    // The killed run's callback already carries its cost: the disk is reconciled before callbacks go.
    expect(views.find((v) => v.jobId === running.jobId)?.result?.costUsd).toBe(1);
    // The killed run never ran again; the queued ones ran once each.
    expect(h.spawns()).toHaveLength(5);

    // And the restarted executor takes new work.
    const fresh = JobView.parse(await (await post(`${second.url}/execute`, job())).json());
    expect(fresh.status).toBe("succeeded");

    // Item 16, from the job store itself (the executor holds it locked while it runs: stop it first).
    second.child.kill("SIGTERM");
    expect(await exited(second.child)).toBe(0);
    const db = new DatabaseSync(path.join(data, "jobs.sqlite"), { readOnly: true });
    try {
      const statuses = Object.fromEntries(
        (db.prepare("SELECT id, status FROM jobs").all() as { id: string; status: string }[]).map((r) => [
          r.id,
          r.status,
        ]),
      );
      expect(statuses[running.jobId]).toBe("interrupted");
      for (const q of queued) expect(statuses[q.jobId]).toBe("succeeded");
      expect(db.prepare("SELECT count(*) AS n FROM jobs WHERE status IN ('running', 'queued')").get()).toEqual({
        n: 0,
      });
      expect(db.prepare("SELECT count(*) AS n FROM job_processes").get()).toEqual({ n: 0 });
      const row = db.prepare("SELECT result FROM jobs WHERE id = ?").get(running.jobId) as { result: string };
      expect(JSON.parse(row.result)).toMatchObject({ costUsd: 1 });
    } finally {
      db.close();
    }
  });

  it("a running job whose CLI had logged nothing is counted at its budget after the restart, marked bound", async () => {
    h = harness({ LOG_LEVEL: "info" });
    const first = await spawnExecutor(h);
    children.push(first.child);
    const running = JobView.parse(
      await (await post(`${first.url}/jobs`, job({ prompt: "hang", maxBudgetUsd: 0.75 }))).json(),
    );
    await until(() => h?.spawns().length === 1, 10_000, "the CLI to start");
    const second = await killAndRestart(h, first.child);
    const view = JobView.parse(await waitJob(second.url, running.jobId, 2_000));
    expect(view).toMatchObject({
      status: "interrupted",
      result: { costUsd: 0.75, run: { error: { kind: "interrupted" }, costSource: "bound", costUsd: 0.75 } },
    });
    expect(view.result?.run.error?.message).toMatch(/could not be read/);
    expect(second.output()).toMatch(/"event":"interrupted_cost_recovered".*"costSource":"bound"/);
  });

  it("a second executor on the same DATA_DIR refuses to start and leaves the first one's running job alone", async () => {
    h = harness();
    const first = await spawnExecutor(h);
    children.push(first.child);
    const running = JobView.parse(
      await (await post(`${first.url}/jobs`, job({ prompt: "sleep:1500 write:a.txt" }))).json(),
    );
    await until(() => h?.spawns().length === 1, 10_000, "the CLI to start");
    const second = spawnExecutor(h);
    await expect(second).rejects.toThrow(/exited 1: .*"event":"start_failed".*another executor is using/s);
    const view = JobView.parse(await waitJob(first.url, running.jobId, 10_000));
    expect(view.status).toBe("succeeded");
  });
});
