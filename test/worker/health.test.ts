import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /health", () => {
  it("needs no token, shows breaker state, and leaks no secret", async () => {
    const now = new Date().toISOString();
    await env.DB.prepare("INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES (?1, 21, 3, 'ok', 0)").bind(`day:${now.slice(0, 10)}`).run();
    const res = await exports.default.fetch("http://localhost/health");
    const text = await res.text();
    // The executor is not running in this test: health is degraded but answers.
    expect([200, 503]).toContain(res.status);
    const body = JSON.parse(text) as { status: string; d1: { reachable: boolean }; executor: { reachable: boolean }; breakers: { day: { spentUsd: number; state: string }; blocked: boolean; thresholds: { dayBlockUsd: number } } };
    expect(body.d1.reachable).toBe(true);
    expect(body.executor.reachable).toBe(false);
    expect(body.status).toBe("degraded");
    expect(body.breakers.day).toMatchObject({ spentUsd: 21, state: "block" });
    expect(body.breakers.blocked).toBe(true);
    expect(body.breakers.thresholds.dayBlockUsd).toBe(20);
    for (const secret of ["test-token", "test-executor-secret", "test-callback-secret"]) expect(text).not.toContain(secret);
  });
});
