import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { setHealthFetch } from "../../worker/services/health.ts";
import { connect } from "./mcp-client.ts";

const SECRETS = ["test-token", "test-executor-secret", "test-callback-secret"];
afterEach(() => setHealthFetch(null));

async function setSpend(scope: string, usd: number): Promise<void> {
  await env.DB.prepare(
    "INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES (?1, ?2, 3, 'ok', 0) ON CONFLICT(scope) DO UPDATE SET spent_usd = excluded.spent_usd, acknowledged_at = NULL",
  )
    .bind(scope, usd)
    .run();
}

describe("GET /health", () => {
  it("needs no token, shows breaker state, and leaks no secret while the executor is down", async () => {
    setHealthFetch(() => Promise.reject(new Error("connect ECONNREFUSED")));
    const now = new Date().toISOString();
    await setSpend(`day:${now.slice(0, 10)}`, 21);
    const res = await exports.default.fetch("http://localhost/health");
    const text = await res.text();
    expect(res.status).toBe(503);
    const body = JSON.parse(text) as {
      status: string;
      d1: { reachable: boolean; latencyMs: number };
      executor: { reachable: boolean };
      breakers: { day: { spentUsd: number; state: string }; blocked: boolean; thresholds: { dayBlockUsd: number } };
    };
    expect(body.d1).toMatchObject({ reachable: true, latencyMs: expect.any(Number) });
    expect(body.executor.reachable).toBe(false);
    expect(body.status).toBe("degraded");
    expect(body.breakers.day).toMatchObject({ spentUsd: 21, state: "block" });
    expect(body.breakers.blocked).toBe(true);
    expect(body.breakers.thresholds.dayBlockUsd).toBe(20);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  it("is ok with a reachable executor; sends it no header and passes on only its version and queue figures", async () => {
    const seen: (RequestInit | undefined)[] = [];
    setHealthFetch(async (_url, init) => {
      seen.push(init);
      return Response.json({
        status: "ok",
        version: "9.9.9",
        running: 1,
        queued: 2,
        capacity: 4,
        clis: { claude: { path: "/home/vault/.local/bin/claude" } },
        secret: "executor-internal",
      });
    });
    const month = `month:${new Date().toISOString().slice(0, 7)}`;
    await setSpend(month, 81);
    const res = await exports.default.fetch("http://localhost/health");
    const text = await res.text();
    expect(res.status).toBe(200);
    const body = JSON.parse(text) as {
      status: string;
      executor: Record<string, unknown>;
      breakers: { flagged: boolean; month: { state: string } };
    };
    expect(body.status).toBe("ok");
    expect(body.executor).toEqual({
      reachable: true,
      latencyMs: expect.any(Number),
      version: "9.9.9",
      running: 1,
      queued: 2,
      capacity: 4,
    });
    expect(body.breakers).toMatchObject({ flagged: true, month: { state: "flag" } });
    expect(text).not.toContain("executor-internal");
    expect(text).not.toContain("/home/vault");
    expect(seen).toHaveLength(1);
    expect(new Headers(seen[0]?.headers).has("authorization")).toBe(false);
    expect([...new Headers(seen[0]?.headers).keys()]).toEqual([]);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  it("the health tool and GET /api/health report the same content", async () => {
    setHealthFetch(() => Promise.reject(new Error("down")));
    const client = await connect();
    const tool = (await client.callTool({ name: "health", arguments: {} })) as {
      structuredContent: Record<string, unknown>;
    };
    const rest = (await (
      await exports.default.fetch(
        new Request("http://localhost/api/health", { headers: { authorization: "Bearer test-token" } }),
      )
    ).json()) as Record<string, unknown>;
    const strip = ({ time: _t, d1: _d, executor: _e, ...rest }: Record<string, unknown>) => rest;
    expect(strip(tool.structuredContent)).toEqual(strip(rest));
    expect(Object.keys(tool.structuredContent).sort()).toEqual(Object.keys(rest).sort());
  });
});
