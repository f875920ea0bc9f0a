/**
 * A transparent HTTP proxy in front of the Worker for end-to-end tests: it records what each
 * client request was (HTTP method, JSON-RPC method(s), MCP-Protocol-Version) and how the Worker
 * answered, so a test can assert on the wire a real client used. It forwards every header as sent,
 * Host included (a DNS-rebinding probe must reach the Worker unchanged), and can add headers a
 * client has no option for (the conformance suite cannot send a bearer token). Streams (SSE) pass
 * through as they come.
 */
import { type ClientRequest, createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  /** The JSON-RPC method(s) of the body, when it was JSON-RPC. */
  rpc: string[];
  protocolVersion: string | null;
  status: number;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

function rpcMethods(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as unknown;
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    return messages
      .map((m) => (typeof m === "object" && m !== null ? (m as { method?: unknown }).method : undefined))
      .filter((m): m is string => typeof m === "string");
  } catch {
    return [];
  }
}

export async function startRecordingProxy(
  target: string,
  inject: Record<string, string> = {},
): Promise<RecordingProxy> {
  const to = new URL(target);
  const requests: Recorded[] = [];
  // Open upstream exchanges (a `subscriptions/listen` stream stays open): closed with the proxy.
  const open = new Set<ClientRequest>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers: IncomingHttpHeaders = { ...req.headers, ...inject };
      const entry: Recorded = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        rpc: rpcMethods(body),
        protocolVersion:
          typeof req.headers["mcp-protocol-version"] === "string" ? req.headers["mcp-protocol-version"] : null,
        status: 0,
      };
      requests.push(entry);
      const upstream = httpRequest(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers },
        (answer) => {
          entry.status = answer.statusCode ?? 0;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      open.add(upstream);
      upstream.on("close", () => open.delete(upstream));
      upstream.on("error", (err) => {
        entry.status = entry.status || 502;
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy: ${err.message}`);
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const upstream of open) upstream.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
