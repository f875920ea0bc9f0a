/**
 * Checks the params of the requests this server answers before the SDK sees them. The SDK's
 * Protocol parses a request against its schema outside its own error mapping, so a malformed
 * `tools/call` (say `arguments: 0`) would come back as -32603 Internal error; the caller's mistake
 * must read as -32602 Invalid params.
 */
import {
  CallToolRequestSchema,
  InitializeRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

const SCHEMAS: Record<
  string,
  { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }
> = {
  initialize: InitializeRequestSchema,
  ping: PingRequestSchema,
  "tools/list": ListToolsRequestSchema,
  "tools/call": CallToolRequestSchema,
};

interface Invalid {
  id: string | number | null;
  message: string;
}

function invalidRequest(message: unknown): Invalid | null {
  if (typeof message !== "object" || message === null) return null;
  const m = message as { id?: unknown; method?: unknown };
  // Notifications and responses carry no id to answer; unknown methods get the SDK's -32601.
  if (typeof m.method !== "string" || (typeof m.id !== "string" && typeof m.id !== "number")) return null;
  const schema = SCHEMAS[m.method];
  if (!schema) return null;
  const r = schema.safeParse(message);
  if (r.success) return null;
  const detail = (r.error?.issues ?? [])
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join(".") || "(request)"}: ${i.message}`)
    .join("; ");
  return { id: m.id, message: `Invalid params for ${m.method}: ${detail}` };
}

/** A JSON-RPC -32602 answer for the first malformed request in the body, or undefined. */
export function invalidParamsResponse(body: unknown): Response | undefined {
  const messages = Array.isArray(body) ? body : [body];
  for (const message of messages) {
    const bad = invalidRequest(message);
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
