import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Config } from "../../core/config.ts";
import { toWireError } from "../errors.ts";

/** What every tool handler gets besides its arguments. */
export interface ToolDeps {
  env: Env;
  config: Config;
  ctx: ExecutionContext;
  now: () => number;
}

export type RegisterTool = (server: McpServer, deps: ToolDeps) => void;

/** A short text line for the model plus the same data as structuredContent. */
export function ok(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

/**
 * Runs a tool body; a failure becomes an MCP tool error (isError) carrying the wire code and the
 * message that tells the model what to do, never a stack or a secret.
 */
export async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    const { body: wire } = toWireError(err);
    return { isError: true, content: [{ type: "text", text: `${wire.error.code}: ${wire.error.message}` }] };
  }
}

/** JSON for a text block, trimmed so one tool answer never floods the caller's context. */
export function brief(value: unknown, max = 4000): string {
  const s = JSON.stringify(value);
  return s.length <= max ? s : `${s.slice(0, max)}… (truncated; see structuredContent)`;
}
