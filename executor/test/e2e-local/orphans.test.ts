/**
 * No orphaned agent: the executor as a real process is killed with SIGKILL while its CLI runs and goes
 * on spending (a fake claude that logs a model response to its session log every 50 ms, for ever, in
 * its own process group, so it outlives the executor). The executor started again on the same data
 * kills it before it takes any job (checked in /proc, not with kill(0)), counts what it had spent
 * from its usage log, and only then gives its slot to a new job. Sandbox off (the run's recorded
 * process and its environment marker) and on (every process of every slot identity, as root).
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { JobView } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import {
  cleanupAll,
  ESCAPE_CLI,
  IS_ROOT,
  makeIdentities,
  sandboxHarness,
  type TestIdentities,
} from "../sandbox/helpers.ts";
import { exited, type Harness, harness, job, liveProcesses, post, spawnExecutor, until } from "../server/harness.ts";

let h: Harness | undefined;
let ids: TestIdentities | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await cleanupAll(
    () => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    },
    () => {
      if (h) for (const pid of liveProcesses(h.dir)) process.kill(pid, "SIGKILL");
    },
    () => ids && rmSync(`/tmp/${ids.prefix}beat`, { force: true }),
    () => ids?.remove(),
    () => h?.cleanup(),
  );
  h = undefined;
  ids = undefined;
});

/** Alive in /proc: there, and neither a zombie nor dead (a zombie runs nothing; init reaps it). */
function aliveInProc(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/** Input tokens the dripping run has logged so far (each line is one response of `per` tokens). */
function logged(h: Harness, jobId: string, per: number): number {
  const log = path.join(h.dir, "data", "homes", jobId, ".claude", "projects", "-repo", "session.jsonl");
  if (!existsSync(log)) return 0;
  return (
    readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{")).length * per
  );
}

/**
 * Starts a dripping job, kills the executor under it, starts the executor again. Returns the
 * restarted executor, the killed job's id, the orphan's pids and what it had logged at the kill.
 */
async function crashUnderDrip(h: Harness, before = "") {
  const first = await spawnExecutor(h);
  children.push(first.child);
  const per = 100_000;
  const prompt = `${before} drip:${per}`.trim();
  const { jobId } = JobView.parse(await (await post(`${first.url}/jobs`, job({ prompt }))).json());
  await until(() => logged(h, jobId, per) >= 3 * per, 20_000, "the CLI to log three responses");
  const orphans = liveProcesses(h.dir, "escape-cli");
  expect(orphans.length).toBeGreaterThan(0);
  first.child.kill("SIGKILL");
  await exited(first.child);
  const atKill = logged(h, jobId, per);
  // It runs on without the executor (its own process group) and keeps spending.
  await until(() => logged(h, jobId, per) > atKill, 5_000, "the orphan to log on");
  expect(orphans.every(aliveInProc)).toBe(true);

  const second = await spawnExecutor(h);
  children.push(second.child);
  // "listening" is printed once start-up recovery is done, before any job can run: the orphan is
  // gone by then (a moment later too: it does not die of its home being removed).
  expect(orphans.filter(aliveInProc)).toEqual([]);
  await new Promise((r) => setTimeout(r, 300));
  expect(orphans.filter(aliveInProc)).toEqual([]);
  return { second, jobId, per, atKill };
}

async function expectCounted(url: string, jobId: string, atKill: number): Promise<void> {
  const view = JobView.parse(
    await (await fetch(`${url}/jobs/${jobId}`, { headers: { "x-auth-token": "executor-secret-0123456789" } })).json(),
  );
  expect(view.status).toBe("interrupted");
  const run = view.result?.run;
  expect(run).toMatchObject({ ok: false, costSource: "computed", error: { kind: "interrupted" } });
  // Everything it logged, including what it spent after the executor died (claude-sonnet-5-5: $2/M input).
  expect(run?.tokens.input).toBeGreaterThan(atKill);
  expect(view.result?.costUsd).toBeCloseTo(((run?.tokens.input ?? 0) * 2) / 1e6, 8);
}

describe("no orphaned agent after kill -9 of the executor", () => {
  it("sandbox off: the run's own processes (recorded, marked) are killed before the restarted executor takes a job", async () => {
    h = harness({ MAX_EXECUTORS: "1", CLAUDE_BIN: ESCAPE_CLI, LOG_LEVEL: "info" });
    const { second, jobId, atKill } = await crashUnderDrip(h);
    expect(second.output()).toMatch(/"event":"orphans_killed"/);
    await expectCounted(second.url, jobId, atKill);
    const next = JobView.parse(await (await post(`${second.url}/execute`, job({ prompt: "write:next.txt" }))).json());
    expect(next.status).toBe("succeeded");
  });

  it.skipIf(!IS_ROOT)(
    "sandbox on: every process of the slot identity is killed before the slot's next job starts",
    async () => {
      ids = makeIdentities(1);
      h = sandboxHarness(ids.prefix, { MAX_EXECUTORS: "1", LOG_LEVEL: "info" });
      // Beside the CLI, a process that left its group and dropped its environment (no run marker).
      const { second, jobId, atKill } = await crashUnderDrip(h, `hideout:/tmp/${ids.prefix}beat`);
      expect(second.output()).toMatch(/"event":"orphans_killed"/);
      expect(second.output()).toMatch(/"event":"agent_leftovers_killed"/);
      await expectCounted(second.url, jobId, atKill);
      // The slot's next job looks for anything else running as its identity: nothing.
      const next = JobView.parse(await (await post(`${second.url}/execute`, job({ prompt: "peers" }))).json());
      expect(next.status).toBe("succeeded");
      expect(JSON.parse(next.result?.run.text ?? "null")).toEqual([]);
    },
  );
});
