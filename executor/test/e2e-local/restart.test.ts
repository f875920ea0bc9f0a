/**
 * The executor as a real process, killed with SIGKILL mid-job and started again on the same data.
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

/** SIGKILL the executor, reap its orphaned CLI, start a new one on the same data. */
async function killAndRestart(h: Harness, first: ChildProcess): Promise<Awaited<ReturnType<typeof spawnExecutor>>> {
  first.kill("SIGKILL");
  await exited(first);
  // The CLI runs in its own process group and outlives a SIGKILL of the executor; in production
  // systemd's KillMode=control-group reaps it. Here the test reaps it the same way.
  for (const pid of liveProcesses(h.dir)) process.kill(pid, "SIGKILL");
  await until(() => liveProcesses(h.dir).length === 0, 5_000, "the orphaned CLI to die");
  const second = await spawnExecutor(h);
  children.push(second.child);
  return second;
}

describe("kill -9 and restart", () => {
  it("the running and the queued job read interrupted, nothing stays running, nothing runs twice, callbacks are sent after the restart", async () => {
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
    const queued = JobView.parse(
      await (await post(`${first.url}/jobs`, job({ prompt: "write:q.txt", callbackUrl: cb.url }))).json(),
    );
    expect(queued.status).toBe("queued");
    await until(() => h?.spawns().length === 2, 10_000, "the CLI to start");
    const data = path.join(h.dir, "data");
    const worktrees = path.join(h.dir, "worktrees", "demo");
    await until(() => existsSync(path.join(data, "homes", running.jobId)), 5_000, "the running job's home");
    // Left on disk by the kill: the running job's home and tree, and the pooled tree unless the
    // running job took it (recycling runs after the first job's answer, so either may happen).
    const trees = readdirSync(worktrees).filter((n) => !n.includes(".state")).length;
    expect(trees).toBeGreaterThanOrEqual(1);

    const second = await killAndRestart(h, first.child);
    expect(second.output()).toMatch(/"event":"listening".*"interruptedAtStart":2/);
    // Before it listened, the disk was reconciled with the store: no home, no tree of a dead job, no stale pool.
    expect(second.output()).toMatch(
      new RegExp(`"event":"disk_reconciled".*"homesRemoved":1,"worktreesRemoved":${trees}`),
    );
    expect(readdirSync(path.join(data, "homes"))).toEqual([]);
    expect(readdirSync(worktrees)).toEqual([]);
    for (const id of [running.jobId, queued.jobId]) {
      const view = JobView.parse(await waitJob(second.url, id, 2_000));
      expect(view.status).toBe("interrupted");
      expect(view.finishedAt).not.toBeNull();
    }
    // What the killed run had spent, from its CLI's session log: 500,000 × $2 per million (sonnet, claude's list price).
    const killed = JobView.parse(await waitJob(second.url, running.jobId, 2_000));
    expect(killed.result).toMatchObject({
      ok: false,
      costUsd: 1,
      run: { error: { kind: "interrupted" }, costSource: "computed", tokens: { input: 500_000 } },
    });
    const health = (await (await fetch(`${second.url}/health`)).json()) as { running: number; queued: number };
    expect(health).toMatchObject({ running: 0, queued: 0 });
    // Owed callbacks are delivered by the new process, signed.
    await until(() => cb.got.length === 2, 10_000, "two callbacks");
    for (const { sig, body } of cb.got) {
      expect(await verifyBody(CALLBACK_SECRET, body, sig)).toBe(true);
      expect(JobView.parse(JSON.parse(body)).status).toBe("interrupted");
    }
    expect(new Set(cb.got.map((g) => JobView.parse(JSON.parse(g.body)).jobId))).toEqual(
      new Set([running.jobId, queued.jobId]),
    );
    // The killed run's callback already carries its cost: the disk is reconciled before callbacks go.
    const killedCallback = cb.got.map((g) => JobView.parse(JSON.parse(g.body))).find((v) => v.jobId === running.jobId);
    expect(killedCallback?.result?.costUsd).toBe(1);
    // Never run again: still the two spawns of the first process.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.spawns()).toHaveLength(2);

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
      expect(statuses[queued.jobId]).toBe("interrupted");
      expect(db.prepare("SELECT count(*) AS n FROM jobs WHERE status IN ('running', 'queued')").get()).toEqual({
        n: 0,
      });
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
