import { exports } from "cloudflare:workers";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator as ValidatorV2 } from "@modelcontextprotocol/client/validators/cf-worker";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";

export const TOKEN = "test-token";
/** wrangler.toml's PUBLIC_URL: the OAuth issuer, whose endpoints answer only at this origin. */
export const PUBLIC_URL = "http://127.0.0.1:28787";

/** One request as the Worker saw it and answered it, for assertions on the wire. */
export interface Exchange {
  method: string;
  path: string;
  rpcMethod?: string;
  protocolVersion: string | null;
  status: number;
}

/** fetch into the Worker's own handler (with a Host header, as a real request has), optionally recorded. */
export function workerFetch(log?: Exchange[]): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const req = new Request(url, init);
    req.headers.set("host", new URL(req.url).host);
    let rpcMethod: string | undefined;
    if (log && typeof init?.body === "string") {
      const parsed = JSON.parse(init.body) as { method?: string };
      rpcMethod = parsed.method;
    }
    const res = await exports.default.fetch(req);
    log?.push({
      method: req.method,
      path: new URL(req.url).pathname,
      rpcMethod,
      protocolVersion: req.headers.get("mcp-protocol-version"),
      status: res.status,
    });
    return res;
  };
}

/**
 * The SDK v2 client (`@modelcontextprotocol/client`). `era: "modern"` pins 2026-07-28 (it probes
 * with `server/discover` and never falls back); `"auto"` probes and falls back; `"legacy"` is the
 * 2025 `initialize` handshake.
 */
export async function connectV2(
  opts: { era?: "modern" | "auto" | "legacy"; token?: string; log?: Exchange[]; base?: string } = {},
): Promise<ClientV2> {
  const era = opts.era ?? "modern";
  const transport = new TransportV2(new URL(`${opts.base ?? "http://localhost"}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${opts.token ?? TOKEN}` } },
    fetch: workerFetch(opts.log),
  });
  const client = new ClientV2(
    { name: "test-v2", version: "1.0.0" },
    {
      jsonSchemaValidator: new ValidatorV2(),
      versionNegotiation: { mode: era === "modern" ? { pin: "2026-07-28" } : era },
    },
  );
  await client.connect(transport);
  return client;
}

/** The SDK v1 client (`@modelcontextprotocol/sdk` 1.x): a 2025-11-25 client, as Claude Code was. */
export async function connect(token = TOKEN): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: workerFetch(),
  });
  const client = new Client(
    { name: "test", version: "1.0.0" },
    { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  await client.connect(transport);
  return client;
}

export function api(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? TOKEN}`);
  if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`http://localhost${path}`, { ...init, headers }));
}

export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

/** A raw JSON-RPC POST to /mcp (no initialize needed: the server is stateless). */
export function rpc(method: string, params: unknown, id: number | string = 1): Promise<Response> {
  return exports.default.fetch(
    new Request("http://localhost/mcp", {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
    }),
  );
}
