/**
 * D1 refuses a statement with more than 100 bound parameters (a limit the local D1 does not
 * enforce). Every write path and every list query runs here through a D1 that counts each
 * statement's parameters, at the largest inputs the schemas accept; a write that must be atomic is
 * one batch.
 */
import { env } from "cloudflare:workers";
import { TaskStatus } from "@vault-mcp/contract";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { listTasks, TaskFilter } from "../../worker/services/tasks.ts";
import { addSpendStatements } from "../../workflows/breakers.ts";
import { recordPasses } from "../../workflows/steps/choose.ts";
import { factsFromJob } from "../../workflows/steps/facts.ts";
import { writeStage } from "../../workflows/steps/write.ts";
import { resetBetweenTests, seedTask } from "./helpers.ts";

const T = { taskWarnUsd: 2, taskHaltUsd: 5, dayBlockUsd: 20, monthFlagUsd: 80 };

resetBetweenTests();

const D1_MAX_BOUND = 100;

/** A D1Database that records how many parameters each statement binds and how many batches run. */
function counting(db: D1Database) {
  const seen = { max: 0, statements: 0, batches: 0 };
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop, receiver) {
        if (prop === "bind")
          return (...values: unknown[]) => {
            seen.max = Math.max(seen.max, values.length);
            seen.statements += 1;
            return target.bind(...values);
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql));
      if (prop === "batch")
        return (stmts: D1PreparedStatement[]) => {
          seen.batches += 1;
          return target.batch(stmts);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { db: proxy, seen };
}

describe("D1 bound-parameter limit", () => {
  it("a consensus stage with every transcript is one batch, each statement under the limit", async () => {
    const taskId = await seedTask();
    const { db, seen } = counting(env.DB);
    const run = {
      ok: true,
      cli: "claude" as const,
      text: "x",
      exitCode: 0,
      signal: null,
      durationMs: 1,
      costUsd: 0.1,
      costSource: "reported" as const,
      tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
      model: "m",
      sessionId: null,
      truncated: false,
    };
    const view = {
      jobId: "j",
      jobKey: `${taskId}:1`,
      status: "succeeded" as const,
      createdAt: "now",
      startedAt: null,
      finishedAt: null,
      result: {
        ok: true,
        profile: "consensus" as const,
        run,
        runB: { ...run, cli: "codex" as const },
        files: [],
        branch: null,
        commit: null,
        verify: { command: ["npm", "test"], ok: true, exitCode: 0, durationMs: 1, output: "ok" },
        consensus: {
          verdict: "agree" as const,
          profiles: ["sonnet", "codex"] as [string, string],
          answerSimilarity: 1,
          filesBoth: [],
          filesOnlyA: [],
          filesOnlyB: [],
          fileAgreement: [],
          verify: [true, true] as [boolean, boolean],
          mermaid: "flowchart LR",
        },
        compressed: "flowchart LR",
        costUsd: 0.2,
      },
    };
    await writeStage(
      db,
      factsFromJob(view, { taskId, attempt: 1, kind: "general", profile: "consensus" }),
      Date.now(),
      T,
    );
    expect(seen.batches).toBe(1);
    expect(seen.statements).toBeGreaterThan(6);
    expect(seen.max).toBeLessThanOrEqual(D1_MAX_BOUND);
    const spend = { taskId, stageId: "s", costUsd: 1, now: Date.now(), thresholds: T };
    expect(addSpendStatements(drizzle(env.DB), spend).length).toBe(2);
  });

  it("skipped rungs of a whole ladder are one batch", async () => {
    const taskId = await seedTask();
    const { db, seen } = counting(env.DB);
    const passed = (["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus"] as const).map(
      (profile) => ({
        profile,
        why: "not ready: set A_KEY",
        aside: true,
      }),
    );
    await recordPasses(db, {
      baseFor: (attempt, profile) => ({ taskId, attempt, kind: "general", profile }),
      lastAttempt: 0,
      choice: { kind: "top", passed },
      now: Date.now(),
      thresholds: T,
    });
    expect(seen.batches).toBe(1);
    expect(seen.max).toBeLessThanOrEqual(D1_MAX_BOUND);
  });

  it("listing tasks by every status at once stays under the limit", async () => {
    const { db, seen } = counting(env.DB);
    const filter = TaskFilter.parse({ status: [...TaskStatus.options], profile: "sonnet", since: "7d", limit: "500" });
    await listTasks(db, filter, Date.now());
    expect(seen.max).toBeGreaterThanOrEqual(TaskStatus.options.length);
    expect(seen.max).toBeLessThanOrEqual(D1_MAX_BOUND);
  });
});
