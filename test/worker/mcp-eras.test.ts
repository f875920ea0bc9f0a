/**
 * Both MCP protocol eras on one /mcp, through real clients: the SDK v2 client pinned to 2026-07-28
 * (server/discover, the per-request `_meta` envelope, Mcp-Method/Mcp-Name headers), the v2 client
 * negotiating on its own, and 2025-11-25 clients (v2's legacy handshake and the v1 SDK client).
 * Only the executor is faked (format-faithful).
 */
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { setHealthFetch } from "../../worker/services/health.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { sortedToolNames } from "../mcp-tool-names.ts";
import { connect, connectV2, type Exchange, TOKEN, textOf } from "./mcp-client.ts";
import { pollingExecutor } from "./polling-executor.ts";

afterEach(() => {
  setExecutorFetch(null);
  setHealthFetch(null);
});

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text?: string }[] };

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1.0.0" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

function rawModern(method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request("http://localhost/mcp", {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method, params }),
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-method": method,
        ...headers,
      },
    }),
  );
}

describe("MCP 2026-07-28 (modern era)", () => {
  it("the pinned v2 client discovers the server, lists every tool and calls one; every request carries the 2026 header and none is refused", async () => {
    const log: Exchange[] = [];
    const client = await connectV2({ era: "modern", log });
    expect(client.getProtocolEra()).toBe("modern");
    expect(client.getServerVersion()?.name).toBe("vault-mcp");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(sortedToolNames());
    for (const t of tools) {
      expect(t.title, t.name).toBeTruthy();
      expect(t.annotations?.readOnlyHint, t.name).toBeTypeOf("boolean");
      expect(t.annotations?.destructiveHint, t.name).toBeTypeOf("boolean");
    }
    const put = (await client.callTool({
      name: "task",
      arguments: { action: "put", key: "eras/modern", value: "hi" },
    })) as ToolResult;
    expect(put.isError, textOf(put)).toBeFalsy();
    const got = (await client.callTool({
      name: "task",
      arguments: { action: "get", key: "eras/modern" },
    })) as ToolResult;
    expect(got.structuredContent).toMatchObject({ key: "eras/modern", value: "hi" });
    expect(log.map((x) => x.rpcMethod)).toEqual(["server/discover", "tools/list", "tools/call", "tools/call"]);
    for (const x of log) {
      expect(x.protocolVersion, x.rpcMethod).toBe("2026-07-28");
      expect(x.status, x.rpcMethod).toBe(200);
    }
  });

  it("the v2 client in auto mode lands on 2026-07-28 with one probe, no fallback", async () => {
    const log: Exchange[] = [];
    const client = await connectV2({ era: "auto", log });
    expect(client.getProtocolEra()).toBe("modern");
    expect(log.map((x) => x.rpcMethod)).toEqual(["server/discover"]);
    expect(log[0]?.status).toBe(200);
  });

  it("execute streams progress to a 2026 client that asked for it, then the result", async () => {
    await using _intro = await pollingExecutor();
    const client = await connectV2({ era: "modern" });
    const progress: unknown[] = [];
    const r = (await client.callTool(
      { name: "execute", arguments: { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 10 } },
      { onprogress: (p) => progress.push(p) },
    )) as ToolResult;
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: "succeeded" });
    expect(progress.length).toBeGreaterThan(0);
  });

  it("answers tools/list with a caching hint and refuses a mismatched Mcp-Method header", async () => {
    const listed = await rawModern(
      "tools/list",
      { _meta: ENVELOPE },
      {
        "mcp-protocol-version": "2026-07-28",
      },
    );
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { result: { ttlMs: number; cacheScope: string; tools: unknown[] } };
    expect(body.result).toMatchObject({ ttlMs: 300_000, cacheScope: "private" });
    const mismatch = await rawModern(
      "tools/list",
      { _meta: ENVELOPE },
      {
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
      },
    );
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it("an unsupported protocol version gets UnsupportedProtocolVersionError listing the supported ones", async () => {
    const res = await rawModern(
      "server/discover",
      { _meta: { ...ENVELOPE, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } },
      { "mcp-protocol-version": "2099-01-01" },
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: number; data: { supported: string[]; requested: string } } };
    expect(body.error.code).toBe(-32022);
    expect(body.error.data).toEqual({ supported: ["2026-07-28"], requested: "2099-01-01" });
  });

  it("a malformed request is the caller's error (-32602), not an internal one", async () => {
    const res = await rawModern(
      "tools/list",
      { cursor: 5, _meta: ENVELOPE },
      {
        "mcp-protocol-version": "2026-07-28",
      },
    );
    const body = (await res.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(-32602);
    expect(body.error.message).toContain("cursor");
  });
});

describe("MCP 2025-11-25 (legacy era)", () => {
  it("the v2 client's initialize handshake and the v1 client both negotiate 2025-11-25 and call tools", async () => {
    const log: Exchange[] = [];
    const v2 = await connectV2({ era: "legacy", log });
    expect(v2.getProtocolEra()).toBe("legacy");
    expect(log[0]?.rpcMethod).toBe("initialize");
    expect((await v2.listTools()).tools.map((t) => t.name).sort()).toEqual(sortedToolNames());
    const v1 = await connect();
    expect((await v1.listTools()).tools.map((t) => t.name).sort()).toEqual(sortedToolNames());
    const r = (await v1.callTool({ name: "task", arguments: { action: "list", prefix: "eras/" } })) as ToolResult;
    expect(r.isError, textOf(r)).toBeFalsy();
    // The 2025 client also tries GET for a standalone SSE stream; a stateless server answers 405.
    for (const x of log)
      expect(x.status, `${x.method} ${x.rpcMethod}`).toBe(
        x.method === "GET" ? 405 : x.rpcMethod === "notifications/initialized" ? 202 : 200,
      );
  });

  it("answers a legacy request as JSON and names the negotiated version on initialize", async () => {
    const res = await exports.default.fetch(
      new Request("http://localhost/mcp", {
        method: "POST",
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
        }),
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
      }),
    );
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as { result: { protocolVersion: string; serverInfo: { name: string } } };
    expect(body.result).toMatchObject({ protocolVersion: "2025-11-25", serverInfo: { name: "vault-mcp" } });
  });
});
