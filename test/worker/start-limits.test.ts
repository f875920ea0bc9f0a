/**
 * Bursts of task starts through the real Worker (REST, the MCP SDK client, replay, an OAuth client),
 * with real D1 and real workflow instances; only the executor is faked. Before the limits, 200
 * executes in a burst were all accepted. The Worker here runs with the wrangler.toml defaults'
 * shape but small numbers (the suite's own config raises them for the other tests).
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { afterEach, describe, expect, it } from "vitest";
import { newTaskId } from "../../core/ids.ts";
import { route } from "../../worker/router.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor, type Scenario } from "../workflows/fake-executor.ts";
import { PUBLIC_URL, TOKEN, textOf } from "./mcp-client.ts";
import { discover, registerDcr, signIn } from "./oauth-flow.ts";

const BURST = 200;

/** The Worker with these limits (the same bindings: D1, the workflow, KV). */
function workerWith(limits: { rate: number; active: number }) {
  const limited = {
    ...env,
    EXECUTE_RATE_PER_MINUTE: String(limits.rate),
    MAX_ACTIVE_TASKS: String(limits.active),
  } as Env;
  return (url: string | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(url, init);
    req.headers.set("host", new URL(req.url).host);
    return route(req, limited, createExecutionContext());
  };
}

function restCaller(fetchFn: ReturnType<typeof workerWith>, token = TOKEN) {
  return (path: string, body: unknown) =>
    fetchFn(`${PUBLIC_URL}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
}

async function mcpClient(fetchFn: ReturnType<typeof workerWith>, token = TOKEN): Promise<Client> {
  const client = new Client(
    { name: "burst", version: "1.0.0" },
    { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${PUBLIC_URL}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: fetchFn,
    }),
  );
  return client;
}

function useExecutor(scenario: Scenario = {}): void {
  setExecutorFetch(new FakeExecutor(() => scenario).fetch);
}

const count = async (sql: string): Promise<number> => (await env.DB.prepare(sql).first<{ n: number }>())?.n ?? 0;
const EXEC = { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 0 };

/** Ends the instances a test left running (their jobs never answer), so they do not outlive it. */
async function terminateRunning(): Promise<void> {
  const { results } = await env.DB.prepare("SELECT id FROM tasks WHERE status IN ('init', 'running')").all<{
    id: string;
  }>();
  for (const { id } of results) {
    const instance = await env.EXECUTE_WORKFLOW.get(id).catch(() => null);
    await instance?.terminate().catch(() => undefined);
  }
  await env.DB.exec("UPDATE tasks SET status = 'failed' WHERE status IN ('init', 'running')");
}

afterEach(async () => {
  await terminateRunning();
  setExecutorFetch(null);
  await env.DB.exec("DELETE FROM task_starts; DELETE FROM circuit_breaker; DELETE FROM model_stats;");
});

// A burst of 200 requests through one workerd takes about a second alone, far longer on a busy machine.
describe("per-caller rate of task starts", { timeout: 60_000 }, () => {
  it(`a burst of ${BURST} REST executes: exactly the rate's worth start, the rest are 429 with Retry-After and leave no row`, async () => {
    useExecutor();
    const post = restCaller(workerWith({ rate: 30, active: 1000 }));
    const tasksBefore = await count("SELECT count(*) AS n FROM tasks");
    const answers = await Promise.all(Array.from({ length: BURST }, () => post("/api/execute", EXEC)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(BURST - 30);
    const refused = answers.find((r) => r.status === 429) as Response;
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("rate_limited");
    expect(error.message).toContain("at most 30 task starts a minute per caller (EXECUTE_RATE_PER_MINUTE)");
    // Nothing half-written: one row per started task, none for a refused one.
    expect(await count("SELECT count(*) AS n FROM tasks")).toBe(tasksBefore + 30);
    expect(await count("SELECT count(*) AS n FROM task_starts WHERE caller = 'bearer'")).toBe(30);
  });

  it(`a burst of ${BURST} MCP executes: the rest are tool errors that say when to retry`, async () => {
    useExecutor();
    const client = await mcpClient(workerWith({ rate: 30, active: 1000 }));
    const results = await Promise.all(
      Array.from({ length: BURST }, () => client.callTool({ name: "execute", arguments: EXEC })),
    );
    const refused = results.filter((r) => r.isError);
    expect(results.length - refused.length).toBe(30);
    expect(refused).toHaveLength(BURST - 30);
    expect(textOf(refused[0])).toMatch(/^rate_limited: at most 30 task starts a minute per caller .*retry in \d+ s$/);
  });

  it("the idempotent retry of a started execute is answered even when the caller is over its rate", async () => {
    useExecutor();
    const post = restCaller(workerWith({ rate: 1, active: 1000 }));
    const first = await post("/api/execute", { ...EXEC, idempotencyKey: "retry-me" });
    expect(first.status).toBe(200);
    const { taskId } = (await first.json()) as { taskId: string };
    expect((await post("/api/execute", EXEC)).status).toBe(429);
    const again = await post("/api/execute", { ...EXEC, idempotencyKey: "retry-me" });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { taskId: string }).taskId).toBe(taskId);
  });

  it("an OAuth client is a caller of its own: the bearer's spent rate does not stop it, and its own does", async () => {
    useExecutor();
    const fetchFn = workerWith({ rate: 2, active: 1000 });
    const bearer = restCaller(fetchFn);
    for (let i = 0; i < 2; i++) expect((await bearer("/api/execute", EXEC)).status).toBe(200);
    expect((await bearer("/api/execute", EXEC)).status).toBe(429);
    const metadata = await discover();
    const dcr = await registerDcr(metadata);
    const tokens = await signIn(metadata, dcr, "https://client.example/callback", "10.9.0.1");
    const oauth = await mcpClient(fetchFn, tokens.access_token);
    const call = () => oauth.callTool({ name: "execute", arguments: EXEC });
    expect((await call()).isError).toBeFalsy();
    expect((await call()).isError).toBeFalsy();
    expect(textOf(await call())).toContain("rate_limited");
    expect(await count(`SELECT count(*) AS n FROM task_starts WHERE caller = 'oauth:${dcr.client_id}'`)).toBe(2);
  });

  it("replay counts each task it starts: past the rate the rest are errors naming the limit, nothing left behind", async () => {
    useExecutor();
    const now = Date.now();
    const originals: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newTaskId(now);
      originals.push(id);
      await env.DB.prepare(
        `INSERT INTO tasks (id, status, prompt, repo, profile, created_at, updated_at)
         VALUES (?1, 'failed', 'p', 'demo', 'sonnet', ?2, ?2)`,
      )
        .bind(id, now - i)
        .run();
    }
    const post = restCaller(workerWith({ rate: 3, active: 1000 }));
    const res = await post("/api/replay", { since: "1h", status: ["failed"], limit: 5 });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { started: number; errors: number; items: { reason?: string }[] };
    expect(report.started).toBe(3);
    expect(report.errors).toBe(2);
    expect(report.items.at(-1)?.reason).toContain("EXECUTE_RATE_PER_MINUTE");
    const replays = await env.DB.prepare(
      `SELECT count(*) AS n FROM tasks WHERE replay_of IN (${originals.map(() => "?").join(",")})`,
    )
      .bind(...originals)
      .first<{ n: number }>();
    expect(replays?.n).toBe(3);
  });
});

describe("cap on active tasks", { timeout: 60_000 }, () => {
  it(`a burst of ${BURST} executes with room for 5 active tasks: 5 start, the rest are 503 with Retry-After; a finished one frees a place`, async () => {
    // The jobs never call back: the tasks stay running, holding their places.
    useExecutor({ loseCallback: true });
    const post = restCaller(workerWith({ rate: 10_000, active: 5 }));
    const answers = await Promise.all(Array.from({ length: BURST }, () => post("/api/execute", EXEC)));
    const started = answers.filter((r) => r.status === 200);
    expect(started).toHaveLength(5);
    const busy = answers.filter((r) => r.status === 503);
    expect(busy).toHaveLength(BURST - 5);
    expect(busy[0]?.headers.get("retry-after")).toBe("30");
    const { error } = (await busy[0]?.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("overloaded");
    expect(error.message).toContain("5 tasks are already running or waiting for the executor (MAX_ACTIVE_TASKS)");
    const mcp = await mcpClient(workerWith({ rate: 10_000, active: 5 }));
    expect(textOf(await mcp.callTool({ name: "execute", arguments: EXEC }))).toMatch(/^overloaded: 5 tasks/);
    // One of them ends: its place is free again.
    const { taskId } = (await started[0]?.json()) as { taskId: string };
    await (await env.EXECUTE_WORKFLOW.get(taskId)).terminate();
    await env.DB.prepare("UPDATE tasks SET status = 'failed' WHERE id = ?1").bind(taskId).run();
    expect((await post("/api/execute", EXEC)).status).toBe(200);
  });

  it("a task waiting for a human answer does not hold a place", async () => {
    useExecutor({ loseCallback: true });
    const post = restCaller(workerWith({ rate: 10_000, active: 1 }));
    const first = await post("/api/execute", EXEC);
    const { taskId } = (await first.json()) as { taskId: string };
    expect((await post("/api/execute", EXEC)).status).toBe(503);
    await env.DB.prepare("UPDATE tasks SET status = 'needs_human', waiting_for = 'human-1' WHERE id = ?1")
      .bind(taskId)
      .run();
    expect((await post("/api/execute", EXEC)).status).toBe(200);
  });
});
