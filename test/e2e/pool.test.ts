/**
 * The executor pool end to end: wrangler dev and three real executors (processes, joining by signed
 * heartbeat), a stand-in claude (the format-faithful fake CLI, so 30 runs stay fast) and a short
 * lease. Tasks spread over the pool; an executor SIGKILLed mid-run loses its jobs to the others and
 * nothing is paid twice; a drained executor gets no new job while its running one finishes; a repo
 * held by one executor goes only there; an executor frozen past its lease comes back and its late
 * result is noted, not counted.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { StageView, TaskDetail } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_CLAUDE } from "../../executor/test/server/harness.ts";
import { ensureDemoRepo } from "../../scripts/stack.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";

/**
 * Short, so a lost executor's jobs move on quickly, yet 12 heartbeats long: a 2-core machine running
 * another suite beside this one can hold up a heartbeat for seconds, and a lapse here would move a
 * healthy executor's jobs.
 */
const LEASE_MS = 6_000;
let e: E2E;

beforeAll(async () => {
  e = await startE2E(
    {},
    {
      EXECUTOR_LEASE_MS: String(LEASE_MS),
      EXECUTE_RATE_PER_MINUTE: "100000",
      MAX_ACTIVE_TASKS: "100000",
      JOB_TIMEOUT_MS: "60000",
    },
    {
      CLAUDE_BIN: FAKE_CLAUDE,
      // The fake CLI counts its runs in the executor's data dir, which an agent identity cannot
      // write; the sandbox is not what these tests are about.
      AGENT_SANDBOX: "off",
      HEARTBEAT_MS: "500",
      MAX_QUEUE: "40",
      REPO_ALLOWLIST: "demo,solo",
    },
    // Reconcile stays out of the way: these tests are about the pool's own paths.
    { executors: 3, reconcileEveryMs: 0 },
  );
}, 180_000);

afterAll(async () => {
  await e?.stop();
});

async function start(prompt: string, repo = "demo"): Promise<string> {
  const res = await e.api("/api/execute", {
    method: "POST",
    body: JSON.stringify({ prompt, repo, profile: "sonnet", waitSeconds: 0 }),
  });
  if (!res.ok) throw new Error(`execute refused: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { taskId: string }).taskId;
}

const detail = async (id: string): Promise<TaskDetail> =>
  (await (await e.api(`/api/tasks/${id}`)).json()) as TaskDetail;

async function until<T>(
  what: string,
  f: () => Promise<T | null | undefined | false>,
  ms = 30_000,
  /** What to say besides the timeout: the state that did not come. */
  seen?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${seen ? `; ${await seen().catch(String)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every task ends succeeded; their stages. */
async function allSucceeded(ids: string[]): Promise<Map<string, StageView[]>> {
  const out = new Map<string, StageView[]>();
  for (const id of ids) {
    const s = await waitState(e, id, 120_000);
    expect(s.status, `${id}: ${s.error ?? ""}`).toBe("succeeded");
    out.set(id, (await detail(id)).stages);
  }
  return out;
}

/** The running stages with a job, by executor. */
async function runningOn(ids: string[]): Promise<Map<string, string[]>> {
  const on = new Map<string, string[]>();
  for (const id of ids)
    for (const s of (await detail(id)).stages)
      if (s.status === "running" && s.jobId && s.executorId)
        on.set(s.executorId, [...(on.get(s.executorId) ?? []), id]);
  return on;
}

function vault(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join("cli", "bin", "vault.mjs"), ...args], {
    cwd: path.resolve(import.meta.dirname, "..", ".."),
    env: { ...process.env, VAULT_URL: e.stack.workerUrl, VAULT_AUTH_TOKEN: e.token, NO_COLOR: "1" },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** No stage counted twice: each task's cost is its stages' sum, at most one stage succeeded, and the totals match. */
function expectPaidOnce(stagesOf: Map<string, StageView[]>): void {
  for (const [id, stages] of stagesOf) {
    expect(stages.filter((s) => s.status === "succeeded").length, id).toBe(1);
    expect(new Set(stages.map((s) => s.attempt)).size, id).toBe(stages.length);
  }
  const verify = vault(["breakers", "--verify"]);
  expect(verify.status, verify.stdout + verify.stderr).toBe(0);
}

describe("executor pool", { timeout: 240_000 }, () => {
  it("registers three executors by heartbeat; vault executors lists them", async () => {
    const out = vault(["executors"]);
    expect(out.status, out.stderr).toBe(0);
    for (const id of ["e1", "e2", "e3"]) expect(out.stdout).toMatch(new RegExp(`^${id}\\s+active\\s+2\\s`, "m"));
    const health = (await (await fetch(`${e.stack.workerUrl}/health`)).json()) as { pool: { fresh: number } };
    expect(health.pool.fresh).toBe(3);
  });

  it("30 tasks started at once spread over all three executors and all succeed", async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, () => start("sleep:1500 write:a.txt")));
    const stagesOf = await allSucceeded(ids);
    const per = new Map<string, number>();
    for (const stages of stagesOf.values())
      for (const s of stages) per.set(s.executorId ?? "?", (per.get(s.executorId ?? "?") ?? 0) + 1);
    const pool = await (await e.api("/api/executors")).text();
    expect([...per.keys()].sort(), pool).toEqual(["e1", "e2", "e3"]);
    // Spread, not piled up: every executor ran at least a fifth of them.
    for (const [id, n] of per) expect(n, `${id} ran ${n} of 30; ${pool}`).toBeGreaterThanOrEqual(6);
    expectPaidOnce(stagesOf);
  });

  it("a drained executor gets no new job while its running one finishes", async () => {
    const first = await start("sleep:3000 write:d.txt");
    const on = await until("the job to run", async () => (await detail(first)).stages.find((s) => s.jobId)?.executorId);
    const drained = vault(["executors", "drain", on]);
    expect(drained.status, drained.stderr).toBe(0);
    expect(drained.stdout).toContain(`${on}: draining`);
    const more = await Promise.all(Array.from({ length: 6 }, () => start("sleep:200 write:d2.txt")));
    const stagesOf = await allSucceeded([first, ...more]);
    expect(stagesOf.get(first)?.map((s) => [s.status, s.executorId])).toEqual([["succeeded", on]]);
    for (const id of more) expect(stagesOf.get(id)?.[0]?.executorId, id).not.toBe(on);
    expect(vault(["executors", "resume", on]).status).toBe(0);
  });

  it("a repo held by one executor is dispatched only there", async () => {
    ensureDemoRepo(e.stack.executors[1]?.layout.reposDir ?? "", "solo");
    await until("e2 to announce repo solo", async () => {
      const list = (await (await e.api("/api/executors")).json()) as { executors: { id: string; repos: string[] }[] };
      return list.executors.find((x) => x.id === "e2")?.repos.includes("solo");
    });
    const ids = await Promise.all(Array.from({ length: 4 }, () => start("write:s.txt", "solo")));
    const pool = await (await e.api("/api/executors")).text();
    const stagesOf = await allSucceeded(ids).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; pool: ${pool}`);
    });
    for (const id of ids) expect(stagesOf.get(id)?.map((s) => s.executorId)).toEqual(["e2"]);
  });

  it("an executor frozen past its lease loses its job to another; back, its late result is noted, not counted", async () => {
    const e3 = e.stack.executors[2];
    if (!e3) throw new Error("no third executor");
    // Only e3 can take the next job: the others are drained for a moment.
    let id: string;
    try {
      for (const x of ["e1", "e2"]) {
        const drained = vault(["executors", "drain", x]);
        expect(drained.status, drained.stdout + drained.stderr).toBe(0);
      }
      id = await start("sleep:2500 write:late.txt");
      await until(
        "the job on e3",
        async () => (await detail(id)).stages.find((s) => s.jobId && s.executorId === "e3"),
        30_000,
        async () => `task: ${JSON.stringify(await detail(id))}; pool: ${await (await e.api("/api/executors")).text()}`,
      );
    } finally {
      // Resumed whatever happened above, so the next test finds the whole pool open.
      for (const x of ["e1", "e2"]) vault(["executors", "resume", x]);
    }
    e3.freeze(true);
    try {
      const s = await waitState(e, id, 60_000);
      expect(s.status).toBe("succeeded");
    } finally {
      e3.freeze(false);
    }
    const stages = (await detail(id)).stages;
    expect(stages.map((s) => [s.attempt, s.status, s.executorId, s.errorKind])).toEqual([
      [1, "interrupted", "e3", "lease_expired"],
      [2, "succeeded", expect.stringMatching(/^e[12]$/), null],
    ]);
    // e3 thaws: its CLI finished meanwhile, its job ends and it calls back for attempt 1, and it
    // heartbeats again. The late result is noted on attempt 1; nothing of it is counted.
    await until("e3 fresh again", async () => {
      const list = (await (await e.api("/api/executors")).json()) as { executors: { id: string; fresh: boolean }[] };
      return list.executors.find((x) => x.id === "e3")?.fresh;
    });
    const note = await until("the late result noted on attempt 1", async () => {
      const res = await e.api(`/api/transcripts/${id}:1:late`);
      return res.ok ? ((await res.json()) as { content: string }) : null;
    });
    expect(note.content).toMatch(/^late result from executor e3 after its lease expired: succeeded/);
    const after = (await detail(id)).stages;
    expect(after.map((s) => [s.status, s.costUsd])).toEqual(stages.map((s) => [s.status, s.costUsd]));
    expect((await detail(id)).task.costUsd).toBeCloseTo(
      stages.reduce((n, s) => n + s.costUsd, 0),
      9,
    );
    expectPaidOnce(new Map([[id, after]]));
  });

  it("one executor SIGKILLed mid-run and not restarted: every task succeeds, its jobs ran again on the others", async () => {
    const ids = await Promise.all(Array.from({ length: 9 }, () => start("sleep:4000 write:k.txt")));
    const on = await until(
      "jobs running on all three",
      async () => {
        const m = await runningOn(ids);
        return m.size === 3 ? m : null;
      },
      30_000,
      async () =>
        `running: ${JSON.stringify([...(await runningOn(ids))])}; pool: ${await (await e.api("/api/executors")).text()}`,
    );
    const victim = e.stack.executors[0];
    if (!victim) throw new Error("no first executor");
    const lost = on.get(victim.id) ?? [];
    await victim.stop("SIGKILL");
    const stagesOf = await allSucceeded(ids);
    for (const id of lost) {
      const stages = stagesOf.get(id) ?? [];
      const first = stages.find((s) => s.executorId === victim.id);
      expect(first, id).toMatchObject({ status: "interrupted", errorKind: "lease_expired" });
      expect(stages.at(-1)).toMatchObject({ status: "succeeded" });
      expect(stages.at(-1)?.executorId).not.toBe(victim.id);
    }
    expectPaidOnce(stagesOf);
    const list = vault(["executors"]);
    expect(list.stdout).toMatch(new RegExp(`^${victim.id}\\s.*STALE`, "m"));
  });
});
