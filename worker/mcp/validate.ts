/**
 * Checks the params of the requests this server answers before the SDK sees them, so a malformed
 * request reads as the caller's mistake (-32602 Invalid params) with the fields named, never as
 * -32603 Internal error.
 */
import { specTypeSchemas } from "@modelcontextprotocol/server";

const SCHEMAS = {
  initialize: specTypeSchemas.InitializeRequest,
  ping: specTypeSchemas.PingRequest,
  "tools/list": specTypeSchemas.ListToolsRequest,
  "tools/call": specTypeSchemas.CallToolRequest,
} as const;
type Checked = keyof typeof SCHEMAS;

/** 2026-07-28 removed `initialize` and `ping`: the SDK answers them 404 Method not found, whatever their params. */
const CHECKED: Record<"legacy" | "modern", ReadonlySet<string>> = {
  legacy: new Set<Checked>(["initialize", "ping", "tools/list", "tools/call"]),
  modern: new Set<Checked>(["tools/list", "tools/call"]),
};

interface Invalid {
  id: string | number | null;
  message: string;
}

function invalidRequest(message: unknown, era: "legacy" | "modern"): Invalid | null {
  if (typeof message !== "object" || message === null) return null;
  const m = message as { id?: unknown; method?: unknown };
  // Notifications and responses carry no id to answer; unknown methods get the SDK's -32601.
  if (typeof m.method !== "string" || (typeof m.id !== "string" && typeof m.id !== "number")) return null;
  if (!CHECKED[era].has(m.method)) return null;
  const schema = SCHEMAS[m.method as Checked];
  const r = schema["~standard"].validate(message);
  if (r instanceof Promise || r.issues === undefined) return null;
  const detail = r.issues
    .slice(0, 5)
    .map(
      (i) =>
        `${(i.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".") || "(request)"}: ${i.message}`,
    )
    .join("; ");
  return { id: m.id, message: `Invalid params for ${m.method}: ${detail}` };
}

/** A JSON-RPC -32602 answer for the first malformed request in the body, or undefined. */
export function invalidParamsResponse(body: unknown, era: "legacy" | "modern"): Response | undefined {
  const messages = Array.isArray(body) ? body : [body];
  for (const message of messages) {
    const bad = invalidRequest(message, era);
    if (!bad) continue;
    // A batch is answered as a whole: one error, without an id to pin it to.
    const id = Array.isArray(body) ? null : bad.id;
    return Response.json(
      { jsonrpc: "2.0", id, error: { code: -32602, message: bad.message } },
      { status: Array.isArray(body) ? 400 : 200 },
    );
  }
  return undefined;
}
