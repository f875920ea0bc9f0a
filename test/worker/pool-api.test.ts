/**
 * The pool through the Worker's fetch handler: the signed heartbeat (no signature, a wrong one, a body
 * off the contract, a replay, an older heartbeat), the list, drain and resume over REST and MCP, and
 * the pool in /health (empty, fresh, stale, drained).
 */
import { env, exports } from "cloudflare:workers";
import { HeartbeatAnswer, signBody } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { setHealthFetch } from "../../worker/services/health.ts";
import { beat, heartbeat } from "./heartbeats.ts";
import { connect } from "./mcp-client.ts";

const TOKEN = "test-token";

afterEach(async () => {
  setHealthFetch(null);
  await env.DB.exec("DELETE FROM executors;");
});

const api = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(
    new Request(`http://localhost${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...init.headers },
    }),
  );

const row = (id: string) => env.DB.prepare("SELECT * FROM executors WHERE id = ?1").bind(id).first();

describe("POST /api/executors/heartbeat", () => {
  it("registers and updates an executor; the answer carries the lease and no drain", async () => {
    const first = heartbeat("vm-a");
    const res = await beat(JSON.stringify(first));
    expect(res.status).toBe(200);
    expect(HeartbeatAnswer.parse(await res.json())).toEqual({ drain: false, leaseMs: 15_000 });
    expect(await row("vm-a")).toMatchObject({ url: "http://vm-a.test", capacity: 2, state: "active" });
    const later = heartbeat("vm-a", { sentAt: first.sentAt + 1, running: ["j-1"], queued: 3, capacity: 4 });
    expect((await beat(JSON.stringify(later))).status).toBe(200);
    expect(await row("vm-a")).toMatchObject({ running: '["j-1"]', queued: 3, capacity: 4 });
  });

  it("refuses an unsigned or wrongly signed heartbeat before reading it; writes nothing", async () => {
    const body = JSON.stringify(heartbeat("vm-x"));
    expect((await beat(body, null)).status).toBe(401);
    expect((await beat(body, await signBody("another-secret-0123456789", body))).status).toBe(401);
    // The bearer token is not a way in: the heartbeat takes only its HMAC.
    const bearer = await api("/api/executors/heartbeat", { method: "POST", body });
    expect(bearer.status).toBe(401);
    expect(await row("vm-x")).toBeNull();
  });

  it("refuses a replayed heartbeat and an older one (409): a dead executor cannot be kept alive", async () => {
    const hb = heartbeat("vm-r");
    const body = JSON.stringify(hb);
    expect((await beat(body)).status).toBe(200);
    const before = (await row("vm-r")) as { last_heartbeat_at: number };
    await new Promise((r) => setTimeout(r, 5));
    // The same signed body again, even freshly signed.
    const replay = await beat(body);
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("conflict");
    expect((await beat(JSON.stringify({ ...hb, sentAt: hb.sentAt - 1000 }))).status).toBe(409);
    expect(((await row("vm-r")) as { last_heartbeat_at: number }).last_heartbeat_at).toBe(before.last_heartbeat_at);
  });

  it("refuses a body off the contract (400), naming the field", async () => {
    const bad = { ...heartbeat("vm-b"), id: "../etc", capacity: -1 };
    const res = await beat(JSON.stringify(bad));
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain("id");
    expect(text).toContain("capacity");
    expect((await beat("{not json")).status).toBe(400);
  });
});

describe("executors: list, drain, resume", () => {
  it("lists the pool; a drain reaches the executor in its next answer and resume undoes it", async () => {
    const hb = heartbeat("vm-d", { running: ["j-9"] });
    await beat(JSON.stringify(hb));
    const list = (await (await api("/api/executors")).json()) as {
      executors: { id: string; state: string; fresh: boolean; readyProfiles: string[]; running: string[] }[];
      leaseMs: number;
    };
    expect(list.leaseMs).toBe(15_000);
    expect(list.executors).toEqual([
      expect.objectContaining({
        id: "vm-d",
        state: "active",
        fresh: true,
        source: "heartbeat",
        readyProfiles: ["sonnet", "codex"],
        running: ["j-9"],
        repos: ["demo"],
        version: "0.1.0",
      }),
    ]);
    const drained = await api("/api/executors/vm-d/drain", { method: "POST" });
    expect(await drained.json()).toEqual({ id: "vm-d", state: "draining", running: ["j-9"] });
    const answer = await beat(JSON.stringify({ ...hb, sentAt: hb.sentAt + 1 }));
    expect(((await answer.json()) as { drain: boolean }).drain).toBe(true);
    const resumed = (await (await api("/api/executors/vm-d/resume", { method: "POST" })).json()) as { state: string };
    expect(resumed.state).toBe("active");
    const again = await beat(JSON.stringify({ ...hb, sentAt: hb.sentAt + 2 }));
    expect(((await again.json()) as { drain: boolean }).drain).toBe(false);
    expect((await api("/api/executors/vm-nope/drain", { method: "POST" })).status).toBe(404);
    expect((await api("/api/executors/default/drain", { method: "POST" })).status).toBe(400);
  });

  it("the MCP executors tool lists and drains like REST", async () => {
    await beat(JSON.stringify(heartbeat("vm-m")));
    const client = await connect();
    const listed = await client.callTool({ name: "executors", arguments: { action: "list" } });
    expect(JSON.stringify(listed.content)).toContain("vm-m active");
    const drained = await client.callTool({ name: "executors", arguments: { action: "drain", id: "vm-m" } });
    expect(drained.isError).toBeFalsy();
    expect(await row("vm-m")).toMatchObject({ state: "draining" });
    const bad = await client.callTool({ name: "executors", arguments: { action: "drain", id: "no such" } });
    expect(bad.isError).toBe(true);
  });

  it("forgets a silent executor only: with none left the pool is EXECUTOR_URL again", async () => {
    await beat(JSON.stringify(heartbeat("vm-f")));
    expect((await api("/api/executors/vm-f", { method: "DELETE" })).status).toBe(409);
    await env.DB.prepare("UPDATE executors SET last_heartbeat_at = 0 WHERE id = 'vm-f'").run();
    expect(await (await api("/api/executors/vm-f", { method: "DELETE" })).json()).toEqual({
      id: "vm-f",
      forgotten: true,
    });
    const list = (await (await api("/api/executors")).json()) as { executors: { id: string; source: string }[] };
    expect(list.executors).toEqual([expect.objectContaining({ id: "default", source: "config" })]);
  });
});

describe("/health with a pool", () => {
  it("sums up the fresh executors without asking them; a fully stale or drained pool is degraded with why", async () => {
    setHealthFetch(() => Promise.reject(new Error("the pool's /health must not probe EXECUTOR_URL")));
    await beat(JSON.stringify(heartbeat("vm-1", { running: ["j-1"] })));
    await beat(JSON.stringify(heartbeat("vm-2", { capacity: 3 })));
    const ok = (await (await exports.default.fetch("http://localhost/health")).json()) as {
      status: string;
      pool: { executors: number; fresh: number; capacity: number; running: number };
      executor: { reachable: boolean; profiles: Record<string, { ready: boolean }> };
    };
    expect(ok.status).toBe("ok");
    expect(ok.pool).toMatchObject({ executors: 2, fresh: 2, capacity: 5, running: 1 });
    expect(ok.executor).toMatchObject({ reachable: true, profiles: { sonnet: { ready: true } } });

    await env.DB.prepare("UPDATE executors SET state = 'draining'").run();
    const drained = await exports.default.fetch("http://localhost/health");
    expect(drained.status).toBe(503);
    expect(((await drained.json()) as { reasons: string[] }).reasons.join()).toMatch(
      /pool cannot take jobs: every fresh executor is draining/,
    );

    await env.DB.prepare("UPDATE executors SET state = 'active', last_heartbeat_at = 0").run();
    const stale = (await (await exports.default.fetch("http://localhost/health")).json()) as {
      status: string;
      reasons: string[];
      pool: { fresh: number };
    };
    expect(stale.status).toBe("degraded");
    expect(stale.pool.fresh).toBe(0);
    expect(stale.reasons.join()).toMatch(/no executor has sent a heartbeat within the lease \(vm-1, vm-2\)/);
  });
});
