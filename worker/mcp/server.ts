import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { toWireError } from "../errors.ts";
import { readBodyText } from "../http.ts";
import { VERSION } from "../services/health.ts";
import type { RegisterTool } from "./tool-kit.ts";
import { registerBreakers } from "./tools/breakers.ts";
import { registerExecute } from "./tools/execute.ts";
import { registerHealth } from "./tools/health.ts";
import { registerCheckpoint, registerDecision, registerTranscript } from "./tools/records.ts";
import { registerReplay } from "./tools/replay.ts";
import { registerTask } from "./tools/task.ts";
import { registerWorkflow } from "./tools/workflow.ts";
import { registerWorkflowQuery } from "./tools/workflow-query.ts";
import { invalidParamsResponse } from "./validate.ts";

const TOOLS: readonly RegisterTool[] = [
  registerExecute,
  registerWorkflow,
  registerWorkflowQuery,
  registerTask,
  registerCheckpoint,
  registerDecision,
  registerTranscript,
  registerBreakers,
  registerReplay,
  registerHealth,
];

function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}

/** True when the client asked for progress on a call: then the answer streams (SSE) to carry it. */
function wantsProgress(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => {
    if (typeof m !== "object" || m === null) return false;
    const params = (m as { params?: { _meta?: { progressToken?: unknown } } }).params;
    return params?._meta?.progressToken !== undefined;
  });
}

/**
 * Stateless Streamable HTTP: a new server and transport per request, POST only (a stateless GET
 * would open an SSE stream that never ends). The body is read here, capped, so the size limit and
 * the JSON error hold whatever the SDK does. Answers are plain JSON unless the call asked for
 * progress: in JSON mode the SDK drops notifications tied to a request (it has one response to
 * send), so `execute`'s progress would never reach Claude Code; an SSE answer carries them.
 */
export async function handleMcp(request: Request, env: Env, ctx: ExecutionContext, config: Config): Promise<Response> {
  if (request.method !== "POST") {
    return new Response(
      JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: use POST" }, id: null }),
      {
        status: 405,
        headers: { allow: "POST", "content-type": "application/json" },
      },
    );
  }
  let body: unknown;
  try {
    const text = await readBodyText(request, config.maxBodyBytes);
    body = JSON.parse(text) as unknown;
  } catch (err) {
    if (err instanceof AppError) return jsonRpcError(err.status, -32600, err.message);
    return jsonRpcError(400, -32700, "Parse error: the body is not valid JSON");
  }
  const invalid = invalidParamsResponse(body);
  if (invalid) return invalid;
  const server = new McpServer(
    { name: "vault-mcp", version: VERSION },
    { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  const deps = { env, config, ctx, now: () => Date.now() };
  for (const register of TOOLS) register(server, deps);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: !wantsProgress(body),
  });
  try {
    await server.connect(transport);
    return await transport.handleRequest(request, { parsedBody: body });
  } catch (err) {
    const wire = toWireError(err);
    return jsonRpcError(wire.status, -32603, wire.body.error.message);
  }
}
