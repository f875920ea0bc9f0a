/** Circuit breakers: the pure thresholds, the spend totals, and each breaker at and around its line in real instances. */
import { env } from "cloudflare:workers";
import type { Rung } from "@vault-mcp/contract";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { stages } from "../../schema/index.ts";
import { ExecuteInput, startExecute } from "../../worker/services/execute.ts";
import {
  addSpendStatements,
  dayBreaker,
  dayScope,
  monthBreaker,
  monthScope,
  readBreakers,
  snapshotFrom,
  taskBreaker,
} from "../../workflows/breakers.ts";
import { checkBreakers, flagsFor } from "../../workflows/steps/breaker-check.ts";
import { recordPasses } from "../../workflows/steps/choose.ts";
import {
  expectEnded,
  flagsOf,
  resetBetweenTests,
  runTo,
  seedTask,
  setSpend,
  stageRows,
  taskRow,
  useExecutor,
} from "./helpers.ts";

resetBetweenTests();

const T = { taskWarnUsd: 2, taskHaltUsd: 5, dayBlockUsd: 20, monthFlagUsd: 80 };
const LADDER: Rung[] = ["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus", "human"];

describe("breakers (pure)", () => {
  it("each threshold is inclusive, with a tolerance for sums of REALs", () => {
    expect([1.99, 2, 4.99, 5].map((s) => taskBreaker(s, T))).toEqual(["ok", "warn", "warn", "halt"]);
    expect(taskBreaker(0.7 + 1.3, T)).toBe("warn");
    expect(taskBreaker(0.1 + 0.2 + 1.7, T)).toBe("warn");
    expect([taskBreaker(9.99, T, 10), taskBreaker(10, T, 10)]).toEqual(["warn", "halt"]);
    expect([dayBreaker(19.99, T), dayBreaker(20, T)]).toEqual(["ok", "block"]);
    expect([monthBreaker(79.99, T), monthBreaker(80, T)]).toEqual(["ok", "flag"]);
  });

  it("flags: task_warn from $2, month_flag until acknowledged", () => {
    expect(flagsFor(1.99, T, false)).toEqual([]);
    expect(flagsFor(2, T, true)).toEqual(["task_warn", "month_flag"]);
    const now = Date.UTC(2026, 10, 24, 15);
    const rows = [
      { scope: dayScope(now), spentUsd: 20, runs: 3, acknowledgedAt: null },
      { scope: monthScope(now), spentUsd: 80, runs: 9, acknowledgedAt: null },
    ];
    expect(snapshotFrom(rows, T, now)).toMatchObject({
      blocked: true,
      flagged: true,
      day: { scope: "day:2026-11-24" },
      month: { scope: "month:2026-11" },
    });
    expect(snapshotFrom([{ ...rows[1]!, acknowledgedAt: now }], T, now)).toMatchObject({
      blocked: false,
      flagged: false,
    });
    // The next UTC day starts unblocked.
    expect(snapshotFrom(rows, T, Date.UTC(2026, 10, 25, 0, 0, 1)).blocked).toBe(false);
  });
});

describe("spend totals and the check", () => {
  it("addSpendStatements adds once per stage: a replayed batch adds nothing", async () => {
    const taskId = await seedTask();
    const now = Date.now();
    const d = drizzle(env.DB);
    const stage = { id: `${taskId}:1`, taskId, attempt: 1, profile: "sonnet", cli: "claude", model: "m" } as const;
    const stageInsert = d
      .insert(stages)
      .values({ ...stage, status: "succeeded", costUsd: 0.4, createdAt: now })
      .onConflictDoNothing();
    const spend = { taskId, stageId: `${taskId}:1`, costUsd: 0.4, now, thresholds: T };
    for (let i = 0; i < 3; i++) await d.batch([...addSpendStatements(d, spend), stageInsert]);
    const snap = await readBreakers(env.DB, T, now);
    expect([snap.day.spentUsd, snap.day.runs, snap.month.spentUsd, snap.month.runs]).toEqual([0.4, 1, 0.4, 1]);
  });

  it("the stored state column follows the thresholds", async () => {
    await setSpend(19.5, 79.5);
    const taskId = await seedTask();
    const now = Date.now();
    const d = drizzle(env.DB);
    await d.batch(addSpendStatements(d, { taskId, stageId: `${taskId}:1`, costUsd: 0.5, now, thresholds: T }));
    const rows = await env.DB.prepare("SELECT scope, state FROM circuit_breaker ORDER BY scope").all<{
      scope: string;
      state: string;
    }>();
    expect(rows.results.map((r) => r.state)).toEqual(["block", "flag"]);
  });

  it("a skipped rung ($0) leaves a tripped state column tripped", async () => {
    await setSpend(19.5, 79.5);
    const taskId = await seedTask();
    const now = Date.now();
    const d = drizzle(env.DB);
    await d.batch(addSpendStatements(d, { taskId, stageId: `${taskId}:1`, costUsd: 0.5, now, thresholds: T }));
    await recordPasses(env.DB, {
      baseFor: (attempt, profile) => ({ taskId, attempt, kind: "general", profile }),
      lastAttempt: 1,
      choice: {
        kind: "run",
        profile: "sonnet",
        passed: [{ profile: "deepseek", why: "not ready: set DEEPSEEK_API_KEY", aside: true }],
      },
      now,
      thresholds: T,
    });
    const rows = await env.DB.prepare("SELECT state FROM circuit_breaker ORDER BY scope").all<{ state: string }>();
    expect(rows.results.map((r) => r.state)).toEqual(["block", "flag"]);
  });

  it("checkBreakers: verdict, cap, flags written to the task, profile choice", async () => {
    const taskId = await seedTask();
    await env.DB.prepare("UPDATE tasks SET cost_usd = 4.99 WHERE id = ?1").bind(taskId).run();
    await setSpend(5, 80);
    const input = { taskId, capUsd: undefined, wanted: { profile: "auto" as const, forced: false }, ladder: LADDER };
    const warn = await checkBreakers(env.DB, T, input, Date.now());
    expect(warn).toMatchObject({
      verdict: "warn",
      capUsd: 5,
      taskCostUsd: 4.99,
      flags: ["task_warn", "month_flag"],
      cooling: {},
    });
    expect(await flagsOf(taskId)).toEqual(["task_warn", "month_flag"]);
    expect((await checkBreakers(env.DB, T, { ...input, capUsd: 4.99 }, Date.now())).verdict).toBe("halt");
    await setSpend(20, 80);
    expect((await checkBreakers(env.DB, T, { ...input, capUsd: 4.99 }, Date.now())).verdict).toBe("block");
  });
});

describe("ExecuteWorkflow: breakers at their lines", { timeout: 30_000 }, () => {
  it("task warn: $1.99 does not warn, $2.00 does", async () => {
    for (const [cost, warned] of [
      [1.99, false],
      [2.0, true],
    ] as const) {
      useExecutor(() => ({ costUsd: cost }));
      const ran = await runTo({ profile: "sonnet" });
      const { taskId } = ran;
      expect((await flagsOf(taskId)).includes("task_warn")).toBe(warned);
      expect((ran.output as { flags: string[] }).flags.includes("task_warn")).toBe(warned);
    }
  });

  it("task halt: $4.99 dispatches again, $5.00 halts; nobody raises the cap → ends halted", async () => {
    // Attempt 1 leaves the task at $4.99 (under the cap: attempt 2 runs); attempt 2 brings it to $5.00.
    useExecutor((_p, attempt) => ({ errorKind: "api", costUsd: attempt === 1 ? 4.99 : 0.01 }));
    const ran = await runTo({ profile: "opus" }, (m) => m.forceEventTimeout({ name: "budget #1" }));
    const { taskId } = ran;
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["opus", "consensus"]);
    await expectEnded(ran, "halted");
    const task = await taskRow(taskId);
    expect(task.status).toBe("halted");
    expect(task.error).toContain("$5 cap");
  });

  it("a task's own budgetUsd is its halt line", async () => {
    const fake = useExecutor(() => ({ errorKind: "api", costUsd: 1 }));
    const { taskId } = await runTo({ profile: "deepseek", budgetUsd: 1 }, (m) =>
      m.forceEventTimeout({ name: "budget #1" }),
    );
    expect(fake.postCount()).toBe(1);
    expect((await taskRow(taskId)).status).toBe("halted");
  });

  it("halt, then a budget event above the spend resumes the ladder; the raised cap is kept on the row", async () => {
    useExecutor((_p, attempt) => (attempt === 1 ? { errorKind: "api", costUsd: 5 } : { costUsd: 0.5 }));
    const { taskId } = await runTo({ profile: "sonnet" }, (m) =>
      m.mockEvent({ type: "budget-1", payload: { capUsd: 10, actor: "alice" } }),
    );
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["sonnet", "failed"],
      ["opus", "succeeded"],
    ]);
    const task = await taskRow(taskId);
    expect(task).toMatchObject({ status: "succeeded", cost_usd: 5.5, budget_usd: 10 });
    expect(await flagsOf(taskId)).toContain("task_warn");
  });

  it("day block: execute refuses at $20 before creating an instance (0 executor calls); $19.99 runs", async () => {
    const fake = useExecutor(() => ({}));
    await setSpend(20, 20);
    const before = await env.DB.prepare("SELECT count(*) AS n FROM tasks").first("n");
    await expect(
      startExecute(env, ExecuteInput.parse({ prompt: "x", repo: "demo", waitSeconds: 0 }), { waitSeconds: 0 }),
    ).rejects.toMatchObject({ code: "breaker_open", message: expect.stringContaining("daily block") });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM tasks").first("n")).toBe(before);
    expect(fake.calls).toEqual([]);
    await setSpend(19.99, 19.99);
    const { taskId } = await runTo({ profile: "sonnet" });
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("day block mid-task: the next dispatch is refused and the task ends blocked", async () => {
    const fake = useExecutor(() => ({ errorKind: "api", costUsd: 0.02 }));
    await setSpend(19.99, 19.99);
    const ran = await runTo({ profile: "sonnet" });
    const { taskId } = ran;
    expect(fake.postCount()).toBe(1);
    await expectEnded(ran, "blocked");
    expect((await taskRow(taskId)).attempts).toBe(1);
    expect((await taskRow(taskId)).error).toContain("00:00 UTC");
  });

  it("month flag: $79.99 no flag; $80 flags every result; acknowledged → no flag", async () => {
    for (const [month, flagged] of [
      [79.99, false],
      [80, true],
    ] as const) {
      useExecutor(() => ({ costUsd: 0 })); // a free run keeps the month total where the test put it
      await setSpend(0, month);
      const { taskId } = await runTo({ profile: "sonnet" });
      expect((await taskRow(taskId)).status).toBe("succeeded");
      expect((await flagsOf(taskId)).includes("month_flag")).toBe(flagged);
    }
    await env.DB.prepare("UPDATE circuit_breaker SET acknowledged_at = ?1 WHERE scope LIKE 'month:%'")
      .bind(Date.now())
      .run();
    const { taskId } = await runTo({ profile: "sonnet" });
    expect(await flagsOf(taskId)).toEqual([]);
  });
});
