/**
 * Hostile JSON: values nested thousands of levels deep, sent for real through REST and MCP (both
 * eras, the SDK clients and raw JSON-RPC). Before the limits, a checkpoint `state` 2,000 deep
 * answered REST 500 and an MCP tool error "Maximum call stack size exceeded" (z.json() recursed).
 * Now every request is measured by a loop before anything walks it, and refused naming the limit.
 */
import { env, exports } from "cloudflare:workers";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_REQUEST_DEPTH, MAX_VALUE_DEPTH } from "../../core/json-limits.ts";
import { api, connect, connectV2, TOKEN, textOf } from "./mcp-client.ts";

/** `[[[…1…]]]` nested `n` levels, as JSON text (a value this deep cannot be built by JSON.stringify). */
const deepText = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;
const deep = (n: number) => JSON.parse(deepText(n)) as unknown;

/** A raw JSON-RPC POST whose body is exactly `body` (so it can hold values no serializer would write). */
function rawMcp(body: string): Promise<Response> {
  return exports.default.fetch(
    new Request("http://localhost/mcp", {
      method: "POST",
      body,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
    }),
  );
}

/** tools/call with `argsText` spliced in as the arguments' JSON text. */
const callText = (tool: string, argsText: string, id = 1) =>
  rawMcp(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":${argsText}}}`);

interface RpcAnswer {
  result?: { isError?: boolean; content?: { text?: string }[] };
  error?: { code: number; message: string };
}

const checkpointRows = async () =>
  (await env.DB.prepare("SELECT count(*) AS n FROM checkpoints").first<{ n: number }>())?.n ?? 0;

let client: Client;
beforeAll(async () => {
  client = await connect();
});

describe("JSON depth and size limits: REST", () => {
  it.each([2_000, 100_000])(
    "a checkpoint whose state nests %i levels is a 400 naming the limit, nothing stored",
    async (n) => {
      const before = await checkpointRows();
      const res = await api("/api/checkpoints", { method: "POST", body: `{"label":"deep","state":${deepText(n)}}` });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("invalid_input");
      expect(error.message).toContain(`deeper than ${MAX_REQUEST_DEPTH} levels`);
      expect(await checkpointRows()).toBe(before);
    },
  );

  it("a state one level past its own limit is refused naming it; at the limit it is stored", async () => {
    const over = await api("/api/checkpoints", {
      method: "POST",
      body: `{"label":"over","state":${deepText(MAX_VALUE_DEPTH + 1)}}`,
    });
    expect(over.status).toBe(400);
    expect(await over.text()).toContain(`state: state nests deeper than ${MAX_VALUE_DEPTH} levels`);
    const at = await api("/api/checkpoints", {
      method: "POST",
      body: `{"label":"at","state":${deepText(MAX_VALUE_DEPTH)}}`,
    });
    expect(at.status).toBe(201);
    const { id } = (await at.json()) as { id: string };
    const back = (await (await api(`/api/checkpoints/${id}`)).json()) as { state: unknown };
    expect(back.state).toEqual(deep(MAX_VALUE_DEPTH));
  });

  it("a deep value anywhere in any JSON body is a 400, never a 500", async () => {
    const task = (await (
      await api("/api/tasks", { method: "POST", body: JSON.stringify({ prompt: "x", repo: "demo" }) })
    ).json()) as { id: string };
    const bodies: [string, string, string][] = [
      ["POST", "/api/execute", `{"prompt":${deepText(50_000)},"repo":"demo"}`],
      ["POST", `/api/tasks/${task.id}/write`, `{"checkpoint":{"label":"l","state":${deepText(5_000)}}}`],
      ["PUT", "/api/kv/deep", `{"value":${deepText(50_000)}}`],
      ["POST", "/api/decisions", `{"decision":"d","zz":${deepText(50_000)}}`],
      ["POST", "/api/replay", `{"since":"1h","x":{"y":${deepText(50_000)}}}`],
    ];
    for (const [method, path, body] of bodies) {
      const res = await api(path, { method, body });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(await res.text()).toContain(`deeper than ${MAX_REQUEST_DEPTH} levels`);
    }
  });

  it("state over 256 KiB is refused naming the size", async () => {
    const res = await api("/api/checkpoints", {
      method: "POST",
      body: JSON.stringify({ label: "big", state: "x".repeat(257 * 1024) }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("the limit is 262144 (256 KiB)");
  });
});

// Every field of every tool, each with a 50,000-deep value: about a second alone, longer when busy.
describe("JSON depth and size limits: MCP", { timeout: 60_000 }, () => {
  it("a checkpoint whose state nests 2,000 levels is a tool error naming the limit, in both eras", async () => {
    const state = deep(2_000);
    for (const c of [client, await connectV2({ era: "modern" }), await connectV2({ era: "legacy" })]) {
      const before = await checkpointRows();
      const r = await c.callTool({ name: "checkpoint", arguments: { action: "create", label: "deep", state } });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(`state nests deeper than ${MAX_VALUE_DEPTH} levels`);
      expect(textOf(r)).not.toMatch(/call stack/i);
      expect(await checkpointRows()).toBe(before);
    }
  });

  it("100,000 levels in a tool's arguments are a tool error, never a crash", async () => {
    const cases: [string, string][] = [
      ["checkpoint", `{"action":"create","label":"deep","state":${deepText(100_000)}}`],
      ["workflow", `{"action":"write","taskId":"t-x","checkpoint":{"label":"l","state":${deepText(100_000)}}}`],
      ["task", `{"action":"put","key":"k","value":${deepText(100_000)}}`],
      ["execute", `{"prompt":"p","repo":"demo","zz":${deepText(100_000)}}`],
    ];
    for (const [tool, args] of cases) {
      const res = await callText(tool, args);
      expect(res.status, tool).toBe(200);
      const body = (await res.json()) as RpcAnswer;
      expect(body.result?.isError, tool).toBe(true);
      const text = body.result?.content?.map((c) => c.text).join("\n") ?? "";
      expect(text, tool).not.toMatch(/call stack/i);
      expect(text, tool).toMatch(/deeper than \d+ levels|expected string|Unrecognized key/);
    }
  });

  it("every field of every tool, given a value 50,000 levels deep, is refused without a crash", async () => {
    const { tools } = await client.listTools();
    for (const tool of tools) {
      for (const field of Object.keys(tool.inputSchema.properties ?? {})) {
        const res = await callText(tool.name, `{"${field}":${deepText(50_000)}}`);
        const label = `${tool.name}.${field}`;
        expect(res.status, label).toBe(200);
        const body = (await res.json()) as RpcAnswer;
        const text = body.result?.content?.map((c) => c.text).join("\n") ?? body.error?.message ?? "";
        expect(body.result?.isError ?? body.error !== undefined, label).toBe(true);
        expect(text, label).not.toMatch(/call stack|internal/i);
      }
    }
  });

  it("a deep value outside a tool's arguments is a 400 Invalid Request naming the limit", async () => {
    const res = await rawMcp(
      `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"x":${deepText(100_000)}}}}`,
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as RpcAnswer;
    expect(body.error?.code).toBe(-32600);
    expect(body.error?.message).toContain(`deeper than ${MAX_REQUEST_DEPTH} levels`);
  });

  it("state over 256 KiB is a tool error naming the size", async () => {
    const r = await client.callTool({
      name: "checkpoint",
      arguments: { action: "create", label: "big", state: { blob: "x".repeat(257 * 1024) } },
    });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("the limit is 262144 (256 KiB)");
  });
});
