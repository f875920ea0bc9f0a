/**
 * GET /api/breakers/verify: circuit_breaker's running totals against the sums recomputed from
 * `stages`. Stages are written by real runs (the workflow's own write step, fake executor); drift is
 * planted with the UPDATE an operator would fear.
 */
import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { BreakerVerification } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { compare, periodsAt } from "../../worker/services/breaker-verify.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { api } from "./mcp-client.ts";

afterEach(() => setExecutorFetch(null));

const verify = async () => {
  const res = await api("/api/breakers/verify");
  expect(res.status).toBe(200);
  return BreakerVerification.parse(await res.json());
};

describe("breaker periods", () => {
  it("are the UTC day and month, end exclusive, across a year's end", () => {
    const p = periodsAt(Date.parse("2026-12-31T23:59:59.999Z"));
    expect(p.day).toEqual({
      scope: "day:2026-12-31",
      from: Date.parse("2026-12-31T00:00:00Z"),
      to: Date.parse("2027-01-01T00:00:00Z"),
    });
    expect(p.month).toEqual({
      scope: "month:2026-12",
      from: Date.parse("2026-12-01T00:00:00Z"),
      to: Date.parse("2027-01-01T00:00:00Z"),
    });
    expect(periodsAt(Date.parse("2028-02-29T12:00:00Z")).month.to).toBe(Date.parse("2028-03-01T00:00:00Z"));
  });

  it("drift is a difference above a micro-dollar, or a run count that differs", () => {
    const period = { scope: "day:2026-12-01", from: 0, to: 1 };
    expect(compare(period, { spentUsd: 0.1 + 0.2, runs: 2 }, { spentUsd: 0.3, runs: 2 }).drift).toBe(false);
    expect(compare(period, { spentUsd: 0.300002, runs: 2 }, { spentUsd: 0.3, runs: 2 })).toMatchObject({
      drift: true,
      diffUsd: expect.closeTo(0.000002, 9),
    });
    expect(compare(period, { spentUsd: 0.3, runs: 3 }, { spentUsd: 0.3, runs: 2 }).drift).toBe(true);
    expect(compare(period, undefined, { spentUsd: 0, runs: 0 })).toMatchObject({
      recordedUsd: 0,
      recordedRuns: 0,
      drift: false,
    });
  });
});

describe("GET /api/breakers/verify", { timeout: 30_000 }, () => {
  it("no drift after real runs; a planted UPDATE of circuit_breaker is reported with both figures", async () => {
    await env.DB.exec("DELETE FROM circuit_breaker; DELETE FROM model_stats;");
    setExecutorFetch(
      new FakeExecutor((_p, attempt) => (attempt === 1 ? { errorKind: "api", costUsd: 0.0123 } : { costUsd: 0.0456 }))
        .fetch,
    );
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const res = await api("/api/execute", {
      method: "POST",
      body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", profile: "gemini-pro", waitSeconds: 10 }),
    });
    expect(((await res.json()) as { status: string }).status).toBe("succeeded");

    const clean = await verify();
    expect(clean.drift).toBe(false);
    expect(clean.day.computedUsd).toBeGreaterThanOrEqual(0.0123 + 0.0456 - 1e-9);
    expect(clean.day).toMatchObject({ recordedUsd: clean.day.computedUsd, recordedRuns: clean.day.computedRuns });
    expect(clean.day.computedRuns).toBeGreaterThanOrEqual(2);
    expect(clean.month.computedUsd).toBeGreaterThanOrEqual(clean.day.computedUsd);

    const { day } = periodsAt(Date.now());
    await env.DB.prepare("UPDATE circuit_breaker SET spent_usd = spent_usd + 0.5 WHERE scope = ?1")
      .bind(day.scope)
      .run();
    const drifted = await verify();
    expect(drifted.drift).toBe(true);
    expect(drifted.day).toMatchObject({
      scope: day.scope,
      drift: true,
      recordedUsd: expect.closeTo(clean.day.recordedUsd + 0.5, 9),
      computedUsd: clean.day.computedUsd,
      diffUsd: expect.closeTo(0.5, 9),
    });
    expect(drifted.month.drift).toBe(false);
    await env.DB.prepare("UPDATE circuit_breaker SET spent_usd = spent_usd - 0.5 WHERE scope = ?1")
      .bind(day.scope)
      .run();
    expect((await verify()).drift).toBe(false);
  });
});
