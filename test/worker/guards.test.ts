import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { route } from "../../worker/router.ts";
import { api } from "./mcp-client.ts";

const rpc = (body: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(
    new Request("http://localhost/mcp", {
      method: "POST",
      body,
      headers: {
        authorization: "Bearer test-token",
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
    }),
  );
const listTools = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });

describe("guards", () => {
  it("401s without a token, with a wrong one, and with a non-bearer scheme, before parsing", async () => {
    for (const auth of [undefined, "Bearer nope", "Basic dGVzdC10b2tlbg==", "Bearer test-token-extra"]) {
      const res = await exports.default.fetch(
        new Request("http://localhost/mcp", {
          method: "POST",
          body: "{not json",
          headers: auth ? { authorization: auth } : {},
        }),
      );
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(res.headers.get("www-authenticate")).toContain("resource_metadata=");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
  });

  it("lets the right token through", async () => {
    const res = await rpc(listTools);
    expect(res.status).toBe(200);
  });

  it("403s a foreign Origin and Origin: null, allows an allowlisted one and none", async () => {
    expect((await rpc(listTools, { origin: "https://evil.example" })).status).toBe(403);
    expect((await rpc(listTools, { origin: "null" })).status).toBe(403);
    expect((await rpc(listTools, { origin: "https://claude.ai" })).status).toBe(200);
    expect((await api("/api/health", { headers: { origin: "https://evil.example" } })).status).toBe(403);
  });

  it("on a loopback Worker, allows its own and any loopback Origin, and nothing dressed up as one", async () => {
    for (const origin of [
      "http://127.0.0.1:28787",
      "http://localhost:6274",
      "http://127.0.0.1:5173",
      "http://[::1]:3000",
    ])
      expect((await rpc(listTools, { origin })).status, origin).toBe(200);
    for (const origin of [
      "http://127.0.0.1.evil.example",
      "http://localhost.evil.example:80",
      "file://",
      "http://localhost/x",
    ])
      expect((await rpc(listTools, { origin })).status, origin).toBe(403);
  });

  it("on a loopback Worker, refuses a non-loopback Host on every route (DNS rebinding) and accepts loopback ones", async () => {
    for (const path of ["/mcp", "/health", "/authorize", "/.well-known/oauth-authorization-server"]) {
      const res = await exports.default.fetch(
        new Request(`http://localhost${path}`, {
          headers: { host: "evil.example", authorization: "Bearer test-token" },
        }),
      );
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden_host");
    }
    for (const host of ["localhost:9999", "127.0.0.1", "[::1]:28787"])
      expect((await rpc(listTools, { host })).status, host).toBe(200);
    expect((await rpc(listTools, { host: "127.0.0.1@evil.example" })).status).toBe(400);
  });

  it("on a loopback Worker, answers a malformed Host with 400 bad_host on every route, never 500", async () => {
    const malformed = [
      "127.0.0.1:28787, evil.com",
      "127.0.0.1:99999",
      "127.0.0.1@evil.example",
      "127.0.0.1/x",
      "127.0.0.1 28787",
    ];
    for (const path of ["/mcp", "/api/tasks", "/health", "/authorize", "/oauth/token"]) {
      for (const host of malformed) {
        const res = await exports.default.fetch(
          new Request(`http://localhost${path}`, { headers: { host, authorization: "Bearer test-token" } }),
        );
        expect(res.status, `${path} Host: ${host}`).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_host");
      }
    }
  });

  it("on a deployed Worker, allows ALLOWED_ORIGINS and its PUBLIC_URL origin but not loopback ones, and leaves Host to Cloudflare", async () => {
    const deployed = { ...env, PUBLIC_URL: "https://vault.example.com" } as Env;
    const call = (headers: Record<string, string>) =>
      route(
        new Request("https://vault.example.com/mcp", {
          method: "POST",
          body: listTools,
          headers: {
            authorization: "Bearer test-token",
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            ...headers,
          },
        }),
        deployed,
        createExecutionContext(),
      );
    expect((await call({ origin: "https://vault.example.com" })).status).toBe(200);
    expect((await call({ origin: "https://claude.ai" })).status).toBe(200);
    expect((await call({ origin: "http://localhost:6274" })).status).toBe(403);
    expect((await call({ host: "vault.example.com" })).status).toBe(200);
  });

  it("answers an allowed Origin's CORS preflight before auth, and lets it read the answer", async () => {
    const pre = await exports.default.fetch(
      new Request("http://localhost/mcp", {
        method: "OPTIONS",
        headers: { origin: "http://localhost:6274", "access-control-request-method": "POST" },
      }),
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:6274");
    expect(pre.headers.get("access-control-allow-headers")).toContain("mcp-protocol-version");
    const foreign = await exports.default.fetch(
      new Request("http://localhost/mcp", { method: "OPTIONS", headers: { origin: "https://evil.example" } }),
    );
    expect(foreign.status).toBe(403);
    const res = await rpc(listTools, { origin: "http://localhost:6274" });
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:6274");
    expect(res.headers.get("access-control-expose-headers")).toContain("www-authenticate");
  });

  it("answers GET and DELETE /mcp with 405", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await exports.default.fetch(
        new Request("http://localhost/mcp", { method, headers: { authorization: "Bearer test-token" } }),
      );
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
    }
  });

  it("413s an oversize body, declared or streamed", async () => {
    const big = "x".repeat(1024 * 1024 + 10);
    expect((await rpc(big)).status).toBe(413);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const res = await exports.default.fetch(
      new Request("http://localhost/api/tasks", {
        method: "POST",
        body: stream,
        headers: { authorization: "Bearer test-token", "content-type": "application/json" },
      }),
    );
    expect(res.status).toBe(413);
  });

  it("answers bad JSON with -32700 on /mcp and 400 on /api", async () => {
    const res = await rpc("{nope");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const rest = await api("/api/tasks", { method: "POST", body: "{nope" });
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as { error: { code: string } }).error.code).toBe("bad_json");
  });

  it("406s a bad Accept and 415s a bad Content-Type", async () => {
    expect((await rpc(listTools, { accept: "text/html" })).status).toBe(406);
    expect((await rpc(listTools, { "content-type": "text/plain" })).status).toBe(415);
    expect(
      (await api("/api/tasks", { method: "POST", body: "prompt=x", headers: { "content-type": "text/plain" } })).status,
    ).toBe(415);
  });

  it("checks Accept and Content-Type before it reads the body", async () => {
    expect((await rpc("{nope", { accept: "text/html" })).status).toBe(406);
    expect((await rpc("{nope", { accept: "application/json" })).status).toBe(406);
    const wrongType = await rpc("{nope", { "content-type": "text/plain" });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
    expect(
      (await api("/api/kv/a", { method: "PUT", body: "v", headers: { "content-type": "text/plain" } })).status,
    ).toBe(415);
    // A parameter on the media type is fine.
    expect((await rpc(listTools, { "content-type": "application/json; charset=utf-8" })).status).toBe(200);
  });

  it("authenticates before the size check: an oversize body without a token is a 401", async () => {
    const res = await exports.default.fetch(
      new Request("http://localhost/mcp", { method: "POST", body: "x".repeat(2 * 1024 * 1024) }),
    );
    expect(res.status).toBe(401);
  });

  it("answers unknown routes with a 404 JSON error and POST /health with 405", async () => {
    const res = await exports.default.fetch("http://localhost/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await api("/api/nope")).status).toBe(404);
    expect((await exports.default.fetch(new Request("http://localhost/health", { method: "POST" }))).status).toBe(405);
  });

  it("mounts the executor callback without the bearer: its HMAC decides, and the bearer does not replace it", async () => {
    const url = "http://localhost/api/callback/t-20200101-0000-aaaaaa";
    const unsigned = await exports.default.fetch(
      new Request(url, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }),
    );
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { message: string } }).error.message).toContain("signature");
    const bearerOnly = await api("/api/callback/t-20200101-0000-aaaaaa", { method: "POST", body: "{}" });
    expect(bearerOnly.status).toBe(401);
  });
});
