import {
  createMcpHandler,
  isLegacyRequest,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { MAX_REQUEST_DEPTH, nestsDeeperThan, tooDeepMessage } from "../../core/json-limits.ts";
import { toWireError } from "../errors.ts";
import { readBodyText } from "../http.ts";
import type { Caller } from "../services/admission.ts";
import { VERSION } from "../version.ts";
import { type RegisterTool, type ToolDeps, toolServer } from "./tool-kit.ts";
import { registerBreakers } from "./tools/breakers.ts";
import { registerExecute } from "./tools/execute.ts";
import { registerExecutors } from "./tools/executors.ts";
import { registerHealth } from "./tools/health.ts";
import { registerCheckpoint, registerDecision, registerTranscript } from "./tools/records.ts";
import { registerReplay } from "./tools/replay.ts";
import { registerRepos } from "./tools/repos.ts";
import { registerTask } from "./tools/task.ts";
import { registerWorkflow } from "./tools/workflow.ts";
import { registerWorkflowQuery } from "./tools/workflow-query.ts";
import { invalidParamsResponse } from "./validate.ts";

const TOOLS: readonly RegisterTool[] = [
  registerExecute,
  registerWorkflow,
  registerWorkflowQuery,
  registerRepos,
  registerTask,
  registerCheckpoint,
  registerDecision,
  registerTranscript,
  registerBreakers,
  registerReplay,
  registerHealth,
  registerExecutors,
];

const INSTRUCTIONS =
  "vault-mcp hands coding tasks to agent CLIs on a VM and keeps their results. Usual order: workflow init → workflow spec → " +
  "execute {taskId} → (workflow_query state while it runs) → workflow_query diff (review the change) → workflow write → workflow close. " +
  "repos list names the repos you may target. execute and replay cost money; everything else is free. Results are small Mermaid diagrams, " +
  "with the change's branch, commit, diffstat and pull request beside them.";

/** The tool list changes only with a deploy: clients of 2026-07-28 may keep it for 5 minutes. */
const LIST_CACHE = { ttlMs: 5 * 60_000, cacheScope: "private" } as const;

/** A fresh server per request (both eras are stateless here), with every tool registered. */
function buildServer(deps: ToolDeps): McpServer {
  const server = new McpServer(
    { name: "vault-mcp", title: "vault-mcp", version: VERSION },
    {
      // The SDK's default validator (Ajv) compiles with eval, which workerd forbids outside tests.
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      instructions: INSTRUCTIONS,
      // The tool list changes only with a deploy: advertising list changes would have every
      // 2026 client hold a `subscriptions/listen` stream open on the Worker for nothing.
      capabilities: { tools: { listChanged: false } },
      cacheHints: { "tools/list": LIST_CACHE, "server/discover": LIST_CACHE },
    },
  );
  const tools = toolServer(server);
  for (const register of TOOLS) register(tools, deps);
  return server;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}

/** A tools/call's arguments left out: the tool's own schema checks their depth (tool-kit.ts). */
function withoutArguments(message: unknown): unknown {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return message;
  const m = message as { method?: unknown; params?: unknown };
  if (m.method !== "tools/call" || typeof m.params !== "object" || m.params === null) return message;
  return { ...m, params: { ...m.params, arguments: null } };
}

/** The body nests past MAX_REQUEST_DEPTH outside the tools' arguments (a batch counts as a level). */
function envelopeTooDeep(body: unknown): boolean {
  if (!Array.isArray(body)) return nestsDeeperThan(withoutArguments(body), MAX_REQUEST_DEPTH);
  return body.some((m) => nestsDeeperThan(withoutArguments(m), MAX_REQUEST_DEPTH - 1));
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
 * 2025-era traffic (`initialize`, then plain requests): stateless, a new server and transport per
 * request. Answers are plain JSON unless the call asked for progress: in JSON mode the transport
 * drops notifications tied to a request (it has one response to send), so `execute`'s progress
 * would never reach Claude Code; an SSE answer carries them. (The SDK's own stateless fallback
 * always streams, which costs every small answer an SSE frame.)
 */
async function serveLegacy(request: Request, body: unknown, server: McpServer): Promise<Response> {
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: !wantsProgress(body),
  });
  await server.connect(transport);
  return transport.handleRequest(request, { parsedBody: body });
}

/**
 * POST /mcp, both protocol eras on one endpoint. 2026-07-28 requests (a `_meta` envelope, probed
 * with `server/discover`) go to the SDK's per-request handler, which validates the envelope and the
 * `Mcp-Method`/`Mcp-Name` headers, answers an unsupported version with the supported list, and
 * streams only when a handler emits progress before its result. Everything else is the 2025 era.
 * GET and DELETE are 405: a stateless GET would open an SSE stream that never ends. The body is
 * read here, capped, so the size limit and the JSON error hold whatever the SDK does.
 */
export async function handleMcp(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
  caller: Caller,
): Promise<Response> {
  if (request.method !== "POST") {
    return new Response(
      JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: use POST" }, id: null }),
      { status: 405, headers: { allow: "POST", "content-type": "application/json" } },
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
  // A tool's arguments are measured by the tool (a tool error the model can act on); the rest now.
  if (envelopeTooDeep(body)) return jsonRpcError(400, -32600, tooDeepMessage("the JSON-RPC message"));
  const deps: ToolDeps = { env, config, ctx, caller, now: () => Date.now() };
  try {
    const legacy = await isLegacyRequest(request, body, { maxRequestBodySize: config.maxBodyBytes });
    const invalid = invalidParamsResponse(body, legacy ? "legacy" : "modern");
    if (invalid) return invalid;
    if (legacy) return await serveLegacy(request, body, buildServer(deps));
    const modern = createMcpHandler(() => buildServer(deps), {
      // 2025-era requests never get here (routed above); the modern path alone answers the rest.
      legacy: "reject",
      maxRequestBodySize: config.maxBodyBytes,
    });
    return await modern.fetch(request, { parsedBody: body });
  } catch (err) {
    const wire = toWireError(err);
    return jsonRpcError(wire.status, -32603, wire.body.error.message);
  }
}
