/**
 * The `vault` binary as a real child process against the real local stack (scripts/stack.ts through
 * the e2e fixture: wrangler dev + executor + the real claude CLI against the mock model API).
 * The ladder is just `deepseek`, whose mock answers 500: a task on `auto` fails and waits for a
 * human at once (its instance stays alive, waiting); `sonnet` answers, so a replay `--from-tier
 * sonnet` succeeds.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BreakerVerification } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, startE2E, waitState } from "../../test/e2e/fixture.ts";
import type { Io } from "../src/command.ts";
import { run } from "../src/main.ts";
import { cleanEnv, parseJson as json, type Ran, ROOT, runVault, spawnRun } from "./helpers.ts";

const FAST = ["--interval", "0.2"];

let e: E2E;

/** The binary pointed at the test stack (`env` overrides; `undefined` removes a variable). */
function vault(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<Ran> {
  return runVault(args, { VAULT_URL: e.stack.workerUrl, VAULT_AUTH_TOKEN: e.token, ...env }, cwd);
}

async function api<T>(pathname: string, init?: RequestInit): Promise<T> {
  const res = await e.api(pathname, init);
  if (!res.ok) throw new Error(`${pathname}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A task on `auto` (ladder: deepseek, answering 500): fails and waits for a human. */
async function failedTask(): Promise<string> {
  const { taskId } = await api<{ taskId: string }>("/api/execute", {
    method: "POST",
    body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", waitSeconds: 0 }),
  });
  expect((await waitState(e, taskId)).status).toBe("needs_human");
  return taskId;
}

/** Waits until the task's status satisfies `done` (events reach an instance asynchronously). */
async function waitStatus(id: string, done: (s: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await api<{ status: string }>(`/api/tasks/${id}/state`);
    if (done(status) || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** wrangler's own view of an instance (`workflows instances describe --local --json`), as an operator sees it. */
function wrangler(args: string[]): string {
  const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
const instanceStatus = (id: string): string =>
  (
    JSON.parse(
      wrangler([
        "workflows",
        "instances",
        "describe",
        "execute-workflow",
        id,
        "--local",
        "--port",
        new URL(e.stack.workerUrl).port,
        "--json",
      ]),
    ) as { status: string }
  ).status;

const replaysOf = async (id: string) =>
  (await api<{ tasks: { id: string; replayOf: string | null }[] }>("/api/tasks?limit=500")).tasks.filter(
    (t) => t.replayOf === id,
  );

interface ReplayJson {
  dryRun: boolean;
  items: {
    originalId: string;
    newTaskId: string | null;
    status: string;
    reason?: string;
    outcome?: string;
    costUsd?: number;
  }[];
  started: number;
  skipped: number;
  errors: number;
  succeeded: number;
  failed: number;
}

beforeAll(async () => {
  e = await startE2E({ deepseek: "500" }, { LADDER: "deepseek" });
}, 120_000);

afterAll(async () => {
  await e?.stop();
}, 60_000);

describe("vault tasks", () => {
  it("list: a table by default, a JSON array with --json, filtered by status", async () => {
    const id = await failedTask();
    const table = await vault(["tasks", "list", "--status", "needs_human", "--since", "1h"]);
    expect(table.code, table.err).toBe(0);
    expect(table.out.split("\n")[0]).toMatch(/^ID\s+STATUS\s+ASKED\s+RUNS\s+COST\s+CREATED\s+FLAGS\s+PROMPT$/);
    expect(table.out).toMatch(
      new RegExp(`${id}\\s+needs_human\\s+profile auto\\s+1\\s+\\$0\\.0000\\s+\\d+s ago\\s+Create hello\\.txt`),
    );
    const list = json<{ id: string; status: string }[]>(await vault(["tasks", "list", "--json", "--limit", "500"]));
    expect(list.find((t) => t.id === id)).toMatchObject({ status: "needs_human" });
    const none = await vault(["tasks", "list", "--status", "closed", "--json"]);
    expect(json<unknown[]>(none)).toEqual([]);
  });

  it("show: stages, cost, error and the wrangler describe line; --json is the API's detail", async () => {
    const id = await failedTask();
    const show = await vault(["tasks", "show", id]);
    expect(show.code, show.err).toBe(0);
    expect(show.out.split("\n")[0]).toBe(`${id}  needs_human  $0.0000 total`);
    expect(show.out).toMatch(/1\s+deepseek\s+claude\s+deepseek-chat\s+failed\s+\$0\.0000/);
    expect(show.out).toContain("error: every rung of the ladder failed");
    expect(show.out.trimEnd().split("\n").at(-1)).toBe(
      `npx wrangler workflows instances describe execute-workflow ${id} --local --port ${new URL(e.stack.workerUrl).port}`,
    );
    const detail = json<{ task: { id: string }; stages: { profile: string }[] }>(
      await vault(["tasks", "show", id, "--json"]),
    );
    expect(detail.task.id).toBe(id);
    expect(detail.stages.map((s) => s.profile)).toEqual(["deepseek"]);
  });

  it("show renders the API's fields (what was asked, files, verify); --result adds the stored result", async () => {
    const { taskId } = await api<{ taskId: string }>("/api/execute", {
      method: "POST",
      body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", executor: "claude", waitSeconds: 0 }),
    });
    expect((await waitState(e, taskId)).status).toBe("succeeded");
    const show = await vault(["tasks", "show", taskId]);
    expect(show.code, show.err).toBe(0);
    expect(show.out.split("\n")[1]).toMatch(/^repo demo · executor claude · kind general · 1 model run · /);
    expect(show.out).toMatch(/1\s+sonnet\s+claude\s+claude-sonnet-5-5\s+succeeded\s+\$\S+\s+\S+\s+\S+\s+\S+\s+\d+\n/);
    expect(show.out).not.toContain("flowchart");
    const withResult = await vault(["tasks", "show", taskId, "--result"]);
    expect(withResult.out).toMatch(
      /result \(as the MCP client got it\):\nflowchart LR\n {2}P\["sonnet claude-sonnet-5-5"\] --> O\{"ok"\}/,
    );
    // The same code path as the binary, with stdout said to be a terminal: colour, nothing drawn.
    const lines: string[] = [];
    const io: Io = {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
      tty: true,
      color: true,
      env: cleanEnv(),
      cwd: ROOT,
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    expect(await run(["tasks", "show", taskId, "--url", e.stack.workerUrl, "--token", e.token], io)).toBe(0);
    expect(lines.join("\n")).toContain("\x1b[32msucceeded\x1b[0m");
  });
});

describe("vault replay", () => {
  it("a task whose instance still waits is skipped; --include-waiting terminates that instance first", async () => {
    const id = await failedTask();
    const waiting = await vault(["replay", id, "--from-tier", "sonnet", "--json", ...FAST]);
    expect(waiting.code, waiting.err).toBe(0);
    expect(json<ReplayJson>(waiting)).toMatchObject({
      started: 0,
      skipped: 1,
      items: [
        {
          originalId: id,
          newTaskId: null,
          status: "skipped",
          reason: expect.stringMatching(/waiting for a human decision.*--include-waiting/),
        },
      ],
    });
    expect(["running", "waiting"]).toContain(instanceStatus(id));
    const dry = await vault(["replay", id, "--include-waiting", "--dry-run"]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(
      new RegExp(`${id}\\s+-\\s+would replay; its (running|waiting) workflow instance would be terminated first`),
    );
    expect(["running", "waiting"]).toContain(instanceStatus(id));
    expect(await replaysOf(id)).toEqual([]);

    const r = await vault([
      "replay",
      id,
      "--from-tier",
      "sonnet",
      "--include-waiting",
      "--budget",
      "7",
      "--json",
      ...FAST,
    ]);
    expect(r.code, r.err).toBe(0);
    const newId = json<ReplayJson>(r).items[0]?.newTaskId as string;
    expect(json<ReplayJson>(r)).toMatchObject({ started: 1, succeeded: 1 });
    expect(instanceStatus(id)).toBe("terminated");
    const original = json<{ decisions: { kind: string; decision: string }[] }>(
      await vault(["tasks", "show", id, "--json"]),
    );
    expect(original.decisions.map((d) => [d.kind, d.decision])).toEqual([
      ["replay", expect.stringMatching(/^terminated its (running|waiting) workflow instance to replay it$/)],
      ["replay", `replayed as ${newId}`],
    ]);
    const replayed = json<{ task: { budgetUsd: number; replayOf: string } }>(
      await vault(["tasks", "show", newId, "--json"]),
    );
    expect(replayed.task).toMatchObject({ budgetUsd: 7, replayOf: id });
  }, 60_000);

  it("one task: a new instance from another tier, linked and recorded; again → skipped; --force → a second one", async () => {
    const id = await failedTask();
    const first = await vault(["replay", id, "--from-tier", "sonnet", "--include-waiting", "--json", ...FAST]);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toBe("");
    const report = json<ReplayJson>(first);
    expect(report).toMatchObject({ dryRun: false, started: 1, skipped: 0, errors: 0, succeeded: 1, failed: 0 });
    const newId = report.items[0]?.newTaskId as string;
    expect(report.items).toEqual([
      { originalId: id, newTaskId: newId, status: "started", outcome: "succeeded", costUsd: expect.any(Number) },
    ]);

    const replayDetail = json<{ task: { replayOf: string; status: string; profile: string } }>(
      await vault(["tasks", "show", newId, "--json"]),
    );
    expect(replayDetail.task).toMatchObject({ replayOf: id, status: "succeeded", profile: "sonnet" });
    const original = json<{ decisions: { kind: string; decision: string }[] }>(
      await vault(["tasks", "show", id, "--json"]),
    );
    expect(original.decisions.at(-1)).toMatchObject({ kind: "replay", decision: `replayed as ${newId}` });

    const again = await vault(["replay", id, "--from-tier", "sonnet", "--include-waiting", "--json", ...FAST]);
    expect(again.code, again.err).toBe(0);
    expect(json<ReplayJson>(again)).toMatchObject({
      started: 0,
      skipped: 1,
      items: [{ originalId: id, newTaskId: newId, status: "skipped" }],
    });
    expect((await replaysOf(id)).map((t) => t.id)).toEqual([newId]);

    const forced = json<ReplayJson>(await vault(["replay", id, "--from-tier", "sonnet", "--force", "--json", ...FAST]));
    expect(forced).toMatchObject({ started: 1, succeeded: 1 });
    expect(forced.items[0]?.newTaskId).not.toBe(newId);
    expect(await replaysOf(id)).toHaveLength(2);
  });

  it("without --json: a progress line per state change on stderr, the summary table on stdout", async () => {
    const id = await failedTask();
    const r = await vault(["replay", id, "--from-tier", "sonnet", "--include-waiting", ...FAST]);
    expect(r.code, r.err).toBe(0);
    const [newId] = (await replaysOf(id)).map((t) => t.id);
    expect(r.err).toContain(`${id} → ${newId}  started from sonnet`);
    expect(r.err).toMatch(new RegExp(`${newId}  succeeded`));
    const progress = r.err.trim().split("\n");
    expect(new Set(progress).size).toBe(progress.length);
    expect(r.out).toMatch(/^ORIGINAL\s+REPLAY\s+OUTCOME\s+COST\n/);
    expect(r.out).toMatch(new RegExp(`${id}\\s+${newId}\\s+succeeded\\s+\\$\\d`));
    expect(r.out).toContain("1 replayed: 1 succeeded, 0 did not · 0 skipped · 0 errors");
  });

  it("bulk: --dry-run starts nothing; for real each task once (a failed replay exits 1); a second run starts nothing", async () => {
    const a = await failedTask();
    const b = await failedTask();
    const countTasks = async () => (await api<{ tasks: unknown[] }>("/api/tasks?limit=500")).tasks.length;
    const before = await countTasks();

    // The tasks above still wait for a human: each run ends their instances first.
    const BULK = ["replay", "--failed", "--since", "1h", "--limit", "100"];
    const skipping = json<ReplayJson>(await vault([...BULK, "--dry-run", "--json"]));
    for (const orig of [a, b])
      expect(skipping.items.find((i) => i.originalId === orig)).toMatchObject({
        status: "skipped",
        reason: expect.stringContaining("--include-waiting"),
      });
    const dry = await vault([...BULK, "--include-waiting", "--dry-run", "--json"]);
    expect(dry.code, dry.err).toBe(0);
    const plan = json<ReplayJson>(dry);
    expect(plan.dryRun).toBe(true);
    expect(plan.items.filter((i) => i.status === "would_start").map((i) => i.originalId)).toEqual(
      expect.arrayContaining([a, b]),
    );
    expect(plan.started).toBe(0);
    expect(await countTasks()).toBe(before);
    const dryTable = await vault([...BULK, "--include-waiting", "--dry-run"]);
    expect(dryTable.out).toMatch(new RegExp(`${a}\\s+-\\s+would replay`));
    expect(dryTable.out).toMatch(/would be replayed, \d+ skipped \(dry run: nothing started\)/);
    expect(await countTasks()).toBe(before);

    // Replays run on `auto` again: deepseek fails, they wait for a human, so the command exits 1.
    const real = await vault([...BULK, "--concurrency", "3", "--include-waiting", "--json", ...FAST]);
    expect(real.code, real.err).toBe(1);
    const done = json<ReplayJson>(real);
    const started = done.items.filter((i) => i.status === "started");
    expect(started.map((i) => i.originalId)).toEqual(expect.arrayContaining([a, b]));
    for (const i of started) expect(i.outcome).toBe("needs_human");
    expect(done.failed).toBe(started.length);
    for (const orig of [a, b]) expect(await replaysOf(orig)).toHaveLength(1);

    const afterFirst = await countTasks();
    const second = await vault([...BULK, "--include-waiting", "--json", ...FAST]);
    expect(second.code, second.err).toBe(0);
    const again = json<ReplayJson>(second);
    expect(again.started).toBe(0);
    expect(again.items.every((i) => i.status === "skipped")).toBe(true);
    expect(await countTasks()).toBe(afterFirst);
    for (const orig of [a, b]) expect(await replaysOf(orig)).toHaveLength(1);
  }, 120_000);
});

describe("vault replay under today's block", () => {
  it("the first start is refused, the rest are not tried, exit 1", async () => {
    const a = await failedTask();
    const b = await failedTask();
    const day = `day:${new Date().toISOString().slice(0, 10)}`;
    e.d1(
      `INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES ('${day}', 20, 1, 'ok', 0) ON CONFLICT(scope) DO UPDATE SET spent_usd = spent_usd + 20`,
    );
    try {
      const r = await vault(["replay", a, b, "--concurrency", "1", "--include-waiting", "--json", ...FAST]);
      expect(r.code, r.err).toBe(1);
      const report = json<ReplayJson>(r);
      expect(report.items).toEqual([
        { originalId: a, newTaskId: null, status: "error", reason: expect.stringMatching(/daily block/) },
        {
          originalId: b,
          newTaskId: null,
          status: "error",
          reason: expect.stringMatching(/^not started: today's spend \$\S+ reached the \$20\.00 daily block/),
        },
      ]);
      expect(report).toMatchObject({ started: 0, errors: 2, failed: 2 });
      expect([...(await replaysOf(a)), ...(await replaysOf(b))]).toEqual([]);
      // Refused before anything changed: the originals still wait for their human.
      for (const orig of [a, b]) expect(["running", "waiting"]).toContain(instanceStatus(orig));
    } finally {
      e.d1(`UPDATE circuit_breaker SET spent_usd = spent_usd - 20 WHERE scope = '${day}'`);
    }
  }, 60_000);
});

describe("vault decide and breakers", () => {
  it("decide --retry-with runs the task again on that profile; --reject ends one failed; a task not waiting is refused", async () => {
    const retried = await failedTask();
    const r = await vault(["decide", retried, "--retry-with", "sonnet", "--note", "try sonnet"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^${retried}: retry with sonnet sent \\(decision d-`));
    expect(await waitStatus(retried, (s) => s === "succeeded" || s === "failed")).toBe("succeeded");
    const detail = json<{
      decisions: { kind: string; decision: string; rationale: string; actor: string }[];
      stages: { profile: string }[];
    }>(await vault(["tasks", "show", retried, "--json"]));
    expect(detail.decisions).toEqual([
      expect.objectContaining({
        kind: "human",
        decision: "retry",
        rationale: "try sonnet",
        actor: expect.stringMatching(/^vault-cli/),
      }),
    ]);
    // The retry ran on the profile asked for (the stage history itself is the workflow's to test).
    expect(detail.stages.at(-1)?.profile).toBe("sonnet");

    const rejected = await failedTask();
    expect((await vault(["decide", rejected, "--reject"])).code).toBe(0);
    expect(await waitStatus(rejected, (s) => s !== "needs_human")).toBe("failed");

    const refused = await vault(["decide", retried, "--approve"]);
    expect(refused.code).toBe(1);
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    expect(refused.err).toMatch(
      /^vault: task '.*' is succeeded; a human decision is taken only when it is needs_human/,
    );
  }, 120_000);

  it("breakers: the table and --json; --ack with no flag is refused; --raise resumes a halted task", async () => {
    const table = await vault(["breakers"]);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(
      /^PERIOD\s+SPENT\s+LIMIT\s+RUNS\s+STATE\ntoday\s+\$\S+\s+\$20\.00\s+\d+\s+ok\nmonth\s+\$\S+\s+\$80\.00\s+\d+\s+ok/,
    );
    expect(json<{ blocked: boolean; flagged: boolean }>(await vault(["breakers", "--json"]))).toMatchObject({
      blocked: false,
      flagged: false,
    });

    const ack = await vault(["breakers", "--ack"]);
    expect(ack.code).toBe(1);
    expect(ack.err).toMatch(/^vault: this month's spend has not reached the flag; nothing to acknowledge/);

    // A task that has spent its $5 cap halts before dispatch (the cost is set in D1, as in test/e2e).
    const created = await api<{ id: string }>("/api/tasks", {
      method: "POST",
      body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", profile: "sonnet" }),
    });
    e.d1(`UPDATE tasks SET cost_usd = 5 WHERE id = '${created.id}'`);
    await api("/api/execute", { method: "POST", body: JSON.stringify({ taskId: created.id, waitSeconds: 0 }) });
    expect(await waitStatus(created.id, (s) => s === "halted")).toBe("halted");
    const tooLow = await vault(["breakers", "--raise", created.id, "--cap", "4"]);
    expect(tooLow.code).toBe(1);
    expect(tooLow.err).toMatch(/capUsd must exceed what the task \(with its replays\) has spent/);
    const raise = await vault(["breakers", "--raise", created.id, "--cap", "10", "--note", "worth it"]);
    expect(raise.code, raise.err).toBe(0);
    expect(raise.out).toContain(`${created.id}: cap raised to $10.00; the task resumes`);
    expect(await waitStatus(created.id, (s) => s !== "halted" && s !== "running")).toBe("succeeded");
  }, 120_000);
});

/** A query of docs/BREAKERS.md, exactly as an operator would paste it into the D1 console. */
function documentedQuery(name: "day" | "month"): string {
  const doc = readFileSync(path.join(ROOT, "docs", "BREAKERS.md"), "utf8");
  const m = new RegExp(`<!-- breakers:${name} -->\\n\`\`\`sql\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m?.[1]) throw new Error(`docs/BREAKERS.md has no breakers:${name} query`);
  return m[1];
}

interface ConsoleRow {
  scope: string;
  recorded_usd: number;
  computed_usd: number;
  recorded_runs: number;
  computed_runs: number;
}

function consoleRow(name: "day" | "month"): ConsoleRow {
  const out = JSON.parse(
    wrangler([
      "d1",
      "execute",
      "DB",
      "--local",
      "--persist-to",
      path.join(e.dir, "state", "wrangler"),
      "--json",
      "--command",
      documentedQuery(name),
    ]),
  ) as { results: ConsoleRow[] }[];
  const row = out[0]?.results[0];
  if (!row) throw new Error(`no row from the ${name} query`);
  return row;
}

describe("vault breakers --verify", () => {
  it("no drift after the runs above, and the documented console queries say the same; a planted drift → exit 1", async () => {
    const clean = await vault(["breakers", "--verify"]);
    expect(clean.code, clean.err).toBe(0);
    expect(clean.err).toBe("");
    expect(clean.out).toMatch(
      /^PERIOD\s+SCOPE\s+RECORDED\s+FROM STAGES\s+DIFF\s+RUNS\s+CHECK\ntoday\s+day:\d{4}-\d{2}-\d{2}\s+\$\d+\.\d{6}\s+\$\d+\.\d{6}\s+\$0\.000000\s+(\d+)\/\1\s+ok\nmonth\s+month:\d{4}-\d{2}\s+.*\s+ok\nthe running totals match the stages$/m,
    );
    const v = json<BreakerVerification>(await vault(["breakers", "--verify", "--json"]));
    expect(v.drift).toBe(false);
    // The E2E runs above wrote real stages (deepseek's failures, sonnet's successes).
    expect(v.day.computedRuns).toBeGreaterThan(5);
    expect(v.day.computedUsd).toBeGreaterThan(0);
    for (const name of ["day", "month"] as const) {
      const row = consoleRow(name);
      expect(row.scope).toBe(v[name].scope);
      expect(row.recorded_usd).toBeCloseTo(v[name].recordedUsd, 9);
      expect(row.computed_usd).toBeCloseTo(v[name].computedUsd, 9);
      expect([row.recorded_runs, row.computed_runs]).toEqual([v[name].recordedRuns, v[name].computedRuns]);
    }

    e.d1(`UPDATE circuit_breaker SET spent_usd = spent_usd + 0.25 WHERE scope = '${v.day.scope}'`);
    try {
      const drifted = await vault(["breakers", "--verify"]);
      expect(drifted.code).toBe(1);
      expect(drifted.out).toMatch(/^today\s+day:\S+\s+\$\d+\.\d{6}\s+\$\d+\.\d{6}\s+\$0\.250000\s+\d+\/\d+\s+DRIFT$/m);
      expect(drifted.out).toMatch(/^month\s+.*\s+ok$/m);
      expect(drifted.err).toBe(
        `vault: the breaker totals drift from the stages (${v.day.scope}); see docs/BREAKERS.md\n`,
      );
      const dj = json<BreakerVerification>(await vault(["breakers", "--verify", "--json"]));
      expect(dj).toMatchObject({ drift: true, day: { drift: true }, month: { drift: false } });
      expect(dj.day.diffUsd).toBeCloseTo(0.25, 9);
      expect(dj.day.recordedUsd - dj.day.computedUsd).toBeCloseTo(0.25, 9);
      const row = consoleRow("day");
      expect(row.recorded_usd - row.computed_usd).toBeCloseTo(0.25, 9);
    } finally {
      e.d1(`UPDATE circuit_breaker SET spent_usd = spent_usd - 0.25 WHERE scope = '${v.day.scope}'`);
    }
    expect((await vault(["breakers", "--verify"])).code).toBe(0);
  }, 60_000);
});

describe("exit codes and errors", () => {
  it("wrong token, unknown task: one line on stderr and exit 1 (Worker down: http.test.ts)", async () => {
    const wrong = await vault(["tasks", "list"], { VAULT_AUTH_TOKEN: "not-the-token" });
    expect(wrong).toMatchObject({ code: 1, out: "" });
    expect(wrong.err).toBe(
      `vault: unauthorized: the Worker at ${e.stack.workerUrl} rejected the token from VAULT_AUTH_TOKEN\n`,
    );

    for (const args of [
      ["tasks", "show", "t-20200101-0000-aaaaaa"],
      ["replay", "t-20200101-0000-aaaaaa"],
      ["decide", "t-20200101-0000-aaaaaa", "--approve"],
    ]) {
      const unknown = await vault(args);
      expect(unknown.code, args.join(" ")).toBe(1);
      expect(unknown.err, args.join(" ")).toBe(
        "vault: no task 't-20200101-0000-aaaaaa' (vault tasks list shows recent tasks)\n",
      );
    }
  });
});

describe("URL and token defaults, npx, health", () => {
  it("the token comes from .dev.vars for a local Worker when no variable is set", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-cli-devvars-"));
    try {
      writeFileSync(path.join(dir, ".dev.vars"), `VAULT_AUTH_TOKEN=${e.token}\n`);
      const r = await vault(["tasks", "list", "--json", "--limit", "1"], { VAULT_AUTH_TOKEN: undefined }, dir);
      expect(r.code, r.err).toBe(0);
      const none = await vault(["tasks", "list"], { VAULT_AUTH_TOKEN: undefined }, os.tmpdir());
      expect(none.code).toBe(1);
      expect(none.err.startsWith(`vault: no token for ${e.stack.workerUrl}: set VAULT_AUTH_TOKEN`), none.err).toBe(
        true,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("`npx vault` runs the bin from the repo", async () => {
    const env = {
      ...cleanEnv(),
      VAULT_URL: e.stack.workerUrl,
      VAULT_AUTH_TOKEN: e.token,
      PATH: `${path.join(ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
    };
    const r = await spawnRun("npx", ["--no-install", "vault", "health", "--json"], env, ROOT);
    expect(r.code, r.err).toBe(0);
    expect(json<{ status: string }>(r)).toMatchObject({ status: "ok" });
  });

  it("health: up → exit 0; executor down → degraded, exit 1 with one line on stderr", async () => {
    const up = await vault(["health"]);
    expect(up.code, up.err).toBe(0);
    expect(up.out).toMatch(/^ok {2}worker v\S+\nd1 {8}up \(\d+ms\)\nexecutor {2}up \(\d+ms/);
    await e.stack.stopExecutor();
    const down = await vault(["health"]);
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/^degraded {2}worker v\S+\nd1 {8}up \(\d+ms\)\nexecutor {2}DOWN\n/);
    expect(down.err).toBe(
      `vault: the Worker reports degraded: the executor at ${e.stack.executorUrl} is unreachable: check EXECUTOR_URL and the VM\n`,
    );
  }, 60_000);
});
