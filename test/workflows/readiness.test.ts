/**
 * Issue "the real VM": rungs that cannot run are skipped with why and never cool a profile down;
 * nothing runnable fails at once with what to configure; the original `executor` call shape; the
 * budget left reaches the run; interrupted runs are re-dispatched; setup and auth failures stay out
 * of model_stats.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  coolDown,
  expectEnded,
  resetBetweenTests,
  runTo,
  seedTask,
  stageMessages,
  stageRows,
  taskRow,
  useExecutor,
} from "./helpers.ts";

resetBetweenTests();

const statsRows = () =>
  env.DB.prepare("SELECT profile, runs, consecutive_failures, cooldown_until FROM model_stats").all();
const ALL_MISSING = {
  deepseek: "set DEEPSEEK_API_KEY",
  "gemini-flash": "set GEMINI_API_KEY",
  "gemini-pro": "set GEMINI_API_KEY",
  sonnet: "set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN",
  opus: "set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN",
  codex: "run `codex login` as the service user",
};

describe("ExecuteWorkflow: readiness", { timeout: 30_000 }, () => {
  it("a profile that is not ready is skipped with a stage saying what is missing, and the next rung runs", async () => {
    const fake = useExecutor(() => ({}), { missing: { deepseek: "set DEEPSEEK_API_KEY" } });
    const ran = await runTo({ profile: "auto" });
    await expectEnded(ran, "succeeded");
    expect(await stageMessages(ran.taskId)).toEqual([
      ["deepseek", "skipped", "not ready: set DEEPSEEK_API_KEY"],
      ["gemini-flash", "succeeded", null],
    ]);
    expect((await stageRows(ran.taskId))[0]).toMatchObject({ cost_usd: 0, error_kind: "skipped" });
    expect(fake.postCount()).toBe(1);
    expect((await statsRows()).results.map((r) => r.profile)).toEqual(["gemini-flash"]);
  });

  it("no credentials at all: the task fails in one pass with what to configure; no job, no human, no consensus", async () => {
    const fake = useExecutor(() => ({}), { missing: ALL_MISSING });
    const ran = await runTo({ profile: "auto" });
    await expectEnded(ran, "failed");
    const error = (await taskRow(ran.taskId)).error ?? "";
    expect(error).toMatch(/^no profile could run\. Configure the executor: /);
    for (const what of ["set DEEPSEEK_API_KEY", "set GEMINI_API_KEY", "ANTHROPIC_API_KEY", "consensus: not ready"])
      expect(error).toContain(what);
    expect(fake.postCount()).toBe(0);
    expect((await stageRows(ran.taskId)).map((s) => s.status)).toEqual(Array(6).fill("skipped"));
    expect((await statsRows()).results).toEqual([]);
  });

  it("setup failures at run time (CLI missing, no key) never cool a profile down; a pinned task still runs it", async () => {
    useExecutor((profile) => (profile === "sonnet" ? { errorKind: "setup" } : {}));
    for (let i = 0; i < 3; i++) {
      const ran = await runTo({ profile: "sonnet" });
      expect(await stageMessages(ran.taskId)).toEqual([
        ["sonnet", "skipped", "fake setup"],
        ["opus", "succeeded", null],
      ]);
    }
    const sonnet = await env.DB.prepare("SELECT count(*) AS n FROM model_stats WHERE profile = 'sonnet'").first("n");
    expect(sonnet).toBe(0);
    const fake = useExecutor(() => ({}));
    const fourth = await runTo({ profile: "sonnet" });
    await expectEnded(fourth, "succeeded");
    expect(fake.jobs.get(`${fourth.taskId}:1`)?.request.profile).toBe("sonnet");
  });

  it("refused credentials put the profile aside for the task and are not a model failure", async () => {
    useExecutor((profile) => (profile === "deepseek" ? { errorKind: "auth" } : {}));
    const ran = await runTo({ profile: "auto" });
    await expectEnded(ran, "succeeded");
    expect((await stageRows(ran.taskId)).map((s) => [s.profile, s.status, s.error_kind])).toEqual([
      ["deepseek", "failed", "auth"],
      ["gemini-flash", "succeeded", null],
    ]);
    expect((await statsRows()).results.map((r) => r.profile)).toEqual(["gemini-flash"]);
  });

  it("a pinned profile in cooldown runs (someone named it); cooldown only steers the ladder's own picks", async () => {
    const fake = useExecutor(() => ({}));
    await coolDown("opus");
    const ran = await runTo({ profile: "opus" });
    await expectEnded(ran, "succeeded");
    expect(fake.jobs.get(`${ran.taskId}:1`)?.request.profile).toBe("opus");
  });
});

describe("ExecuteWorkflow: the executor call shape", { timeout: 30_000 }, () => {
  it("executor codex runs the direct codex profile once; a failure ends the task (no climb)", async () => {
    const fake = useExecutor(() => ({ errorKind: "api" }));
    const ran = await runTo({ executor: "codex" });
    await expectEnded(ran, "failed");
    expect((await stageRows(ran.taskId)).map((s) => s.profile)).toEqual(["codex"]);
    expect(fake.postCount()).toBe(1);
    expect((await taskRow(ran.taskId)).error).toContain("codex failed: fake api");
  });

  it("executor gemini runs its direct profile; executor consensus runs consensus", async () => {
    const fake = useExecutor(() => ({}));
    const g = await runTo({ executor: "gemini" });
    await expectEnded(g, "succeeded");
    expect(fake.jobs.get(`${g.taskId}:1`)?.request.profile).toBe("gemini-flash");
    const c = await runTo({ executor: "consensus" });
    await expectEnded(c, "succeeded");
    expect(fake.jobs.get(`${c.taskId}:1`)?.request.profile).toBe("consensus");
  });

  it("executor with profile auto climbs from that CLI's profile on failure", async () => {
    useExecutor((profile) => (profile === "sonnet" ? { errorKind: "api" } : {}));
    const ran = await runTo({ executor: "claude", profile: "auto" });
    await expectEnded(ran, "succeeded");
    expect((await stageRows(ran.taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["sonnet", "failed"],
      ["opus", "succeeded"],
    ]);
  });

  it("a direct run whose CLI is not ready fails at once with what to configure", async () => {
    const fake = useExecutor(() => ({}), { missing: { codex: "run `codex login` as the service user" } });
    const ran = await runTo({ executor: "codex" });
    await expectEnded(ran, "failed");
    expect((await taskRow(ran.taskId)).error).toContain("codex: not ready: run `codex login` as the service user");
    expect(fake.postCount()).toBe(0);
  });
});

describe("ExecuteWorkflow: budget inside a run, interruptions", { timeout: 30_000 }, () => {
  it("the job carries what is left of the cap; a run stopped there is a budget stage, then the task halts", async () => {
    const fake = useExecutor(() => ({ errorKind: "budget", costUsd: 1.5 }));
    const taskId = await seedTask({ profile: "sonnet", budgetUsd: 2 });
    await env.DB.prepare("UPDATE tasks SET cost_usd = 0.5 WHERE id = ?1").bind(taskId).run();
    // Reuse runTo's machinery on the seeded row: execute it by id.
    const { introspectWorkflowInstance } = await import("cloudflare:test");
    const { run, waitForEnd } = await import("./helpers.ts");
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.forceEventTimeout({ name: "budget #1" });
    });
    await run(taskId);
    const ran = await waitForEnd(taskId);
    await expectEnded(ran, "halted");
    expect(fake.jobs.get(`${taskId}:1`)?.request.maxBudgetUsd).toBeCloseTo(1.5, 10);
    expect((await stageRows(taskId)).map((s) => [s.status, s.error_kind, s.cost_usd])).toEqual([
      ["budget", "budget", 1.5],
    ]);
    expect((await statsRows()).results).toEqual([]);
  });

  it("an interrupted run (executor restart) is re-dispatched on the same profile, its cost counted, not a model failure", async () => {
    const fake = useExecutor((_profile, attempt) => (attempt === 1 ? { interrupted: true, costUsd: 0.02 } : {}));
    const ran = await runTo({ profile: "auto" });
    await expectEnded(ran, "succeeded");
    expect((await stageRows(ran.taskId)).map((s) => [s.profile, s.status, s.cost_usd])).toEqual([
      ["deepseek", "interrupted", 0.02],
      ["deepseek", "succeeded", 0.01],
    ]);
    expect(fake.jobs.get(`${ran.taskId}:2`)?.request.jobKey).toBe(`${ran.taskId}:2`);
    expect((await taskRow(ran.taskId)).cost_usd).toBeCloseTo(0.03, 10);
    const stats = await env.DB.prepare("SELECT runs, failures FROM model_stats WHERE profile = 'deepseek'").first();
    expect(stats).toEqual({ runs: 1, failures: 0 });
  });

  it("a pinned profile interrupted three times in a row ends failed with why; it never climbs to opus", async () => {
    const fake = useExecutor((profile) => (profile === "sonnet" ? { interrupted: true, costUsd: 0.02 } : {}));
    const ran = await runTo({ profile: "sonnet" });
    await expectEnded(ran, "failed");
    expect((await stageRows(ran.taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["sonnet", "interrupted"],
      ["sonnet", "interrupted"],
      ["sonnet", "interrupted"],
    ]);
    expect([...fake.jobs.values()].map((j) => j.request.profile)).toEqual(["sonnet", "sonnet", "sonnet"]);
    expect((await taskRow(ran.taskId)).error).toBe(
      "sonnet was interrupted 3 times in a row (the executor restarted under each run); a task that names its profile does not climb because of restarts: replay it once the executor is stable",
    );
  });

  it("a CLI run without climb (executor: claude) is pinned too: interrupted three times, it ends failed on sonnet", async () => {
    const fake = useExecutor(() => ({ interrupted: true }));
    const ran = await runTo({ executor: "claude", climb: false });
    await expectEnded(ran, "failed");
    expect([...fake.jobs.values()].map((j) => j.request.profile)).toEqual(["sonnet", "sonnet", "sonnet"]);
    expect((await taskRow(ran.taskId)).error).toMatch(/^sonnet was interrupted 3 times in a row/);
  });

  it("only a run that started counts: jobs still queued at a restart are sent again, uncounted, and the pinned task succeeds", async () => {
    const fake = useExecutor((_profile, attempt) =>
      attempt <= 3 ? { interrupted: true, neverStarted: true } : attempt === 4 ? { interrupted: true } : {},
    );
    const ran = await runTo({ profile: "sonnet" });
    await expectEnded(ran, "succeeded");
    expect((await stageMessages(ran.taskId)).map(([p, s, m]) => [p, s, m])).toEqual([
      ["sonnet", "interrupted", "the executor restarted before the run started"],
      ["sonnet", "interrupted", "the executor restarted before the run started"],
      ["sonnet", "interrupted", "the executor restarted before the run started"],
      ["sonnet", "interrupted", "the executor restarted during the run (fake interrupted)"],
      ["sonnet", "succeeded", null],
    ]);
    expect(fake.spawns.size).toBe(5);
  });

  it("jobs that never start, six times in a row, end the task: the executor keeps restarting", async () => {
    useExecutor(() => ({ interrupted: true, neverStarted: true }));
    const ran = await runTo({ profile: "auto" });
    await expectEnded(ran, "failed");
    expect((await stageRows(ran.taskId)).map((s) => s.profile)).toEqual(Array(6).fill("deepseek"));
    expect((await taskRow(ran.taskId)).error).toMatch(
      /^the executor restarted 6 times in a row before deepseek's run could start/,
    );
  });

  it("interrupted three times in a row: two re-dispatches, then the ladder climbs", async () => {
    useExecutor((profile) => (profile === "deepseek" ? { interrupted: true } : {}));
    const ran = await runTo({ profile: "auto" });
    await expectEnded(ran, "succeeded");
    expect((await stageRows(ran.taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["deepseek", "interrupted"],
      ["deepseek", "interrupted"],
      ["deepseek", "interrupted"],
      ["gemini-flash", "succeeded"],
    ]);
  });
});

describe("ExecuteWorkflow: cooling is not a setup problem", { timeout: 30_000 }, () => {
  it("every rung cooling (nothing ran): the task waits for a human, saying which rung rests until when", async () => {
    useExecutor(() => ({}));
    for (const p of ["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus"]) await coolDown(p);
    const { introspectWorkflowInstance } = await import("cloudflare:test");
    const taskId = await seedTask({ profile: "auto" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.forceEventTimeout({ name: "human #1" });
    });
    const { run, waitForEnd } = await import("./helpers.ts");
    await run(taskId);
    const ran = await waitForEnd(taskId);
    await expectEnded(ran, "needs_human");
    expect((await stageRows(taskId)).map((s) => s.status)).toEqual(Array(6).fill("skipped"));
  });
});
