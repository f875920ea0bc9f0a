import type { CallToolResult, McpServer, ProgressToken, ToolAnnotations } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { MAX_REQUEST_DEPTH, nestsDeeperThan, tooDeepMessage } from "../../core/json-limits.ts";
import { toWireError } from "../errors.ts";
import type { Caller } from "../services/admission.ts";
import { escapeControls, stripControls } from "./safe-text.ts";

/** What every tool handler gets besides its arguments. */
export interface ToolDeps {
  env: Env;
  config: Config;
  ctx: ExecutionContext;
  /** Who is calling (the static bearer or an OAuth client): task starts are limited per caller. */
  caller: Caller;
  now: () => number;
}

/**
 * Every tool states what it does to the world: the Claude connector directory requires `title`,
 * `readOnlyHint` and `destructiveHint` on each tool, so the type does not let one be left out.
 */
export interface ToolConfig<I extends z.ZodType> {
  title: string;
  description: string;
  inputSchema: I;
  /** A zod object, or the raw shape of one. */
  outputSchema?: z.ZodObject | z.ZodRawShape;
  annotations: ToolAnnotations & { readOnlyHint: boolean; destructiveHint: boolean };
}

/** What a handler may do besides answering: report progress when the caller asked for it. */
export interface ToolExtra {
  _meta?: { progressToken?: ProgressToken };
  sendNotification(notification: {
    method: "notifications/progress";
    params: { progressToken: ProgressToken; progress: number; total?: number; message?: string };
  }): Promise<void>;
}

export type ToolHandler<I extends z.ZodType> = (args: z.output<I>, extra: ToolExtra) => Promise<CallToolResult>;

/** The registration surface the tool files see; `toolServer` maps it onto the SDK's McpServer. */
export interface ToolServer {
  registerTool<I extends z.ZodType>(name: string, config: ToolConfig<I>, handler: ToolHandler<I>): void;
}

export type RegisterTool = (server: ToolServer, deps: ToolDeps) => void;

const argumentsDepth = z.superRefine<Record<string, unknown>>((args, ctx) => {
  if (nestsDeeperThan(args, MAX_REQUEST_DEPTH))
    ctx.addIssue({ code: "custom", message: tooDeepMessage("the arguments") });
});

/**
 * Adapts the SDK's registerTool (v2: zod objects only, a `ctx` whose request helpers live on
 * `ctx.mcpReq`) to the small surface above, so the tool files do not depend on the SDK's shape.
 */
export function toolServer(server: McpServer): ToolServer {
  return {
    registerTool(name, config, handler) {
      const { outputSchema, inputSchema, ...rest } = config;
      // Widened to the plain schema type: the SDK's callback type is conditional on the schema and
      // cannot be resolved for a generic one. The SDK has parsed the arguments with it already.
      // Every tool's arguments are measured (by a loop) before the SDK hands them to the handler;
      // their fields have fixed shapes or are boundedJson, so zod never walks deeper than that.
      const input: z.ZodType = inputSchema instanceof z.ZodObject ? inputSchema.check(argumentsDepth) : inputSchema;
      const output =
        outputSchema instanceof z.ZodObject || outputSchema === undefined ? outputSchema : z.object(outputSchema);
      server.registerTool(
        name,
        { ...rest, inputSchema: input, ...(output ? { outputSchema: output } : {}) },
        (args: unknown, ctx) =>
          handler(args as z.output<typeof inputSchema>, {
            _meta: ctx.mcpReq._meta,
            sendNotification: (n) => ctx.mcpReq.notify(n),
          }),
      );
    },
  };
}

/**
 * A short text line for the model plus the same data as structuredContent. The text quotes prompts,
 * results and messages of agents and callers: no control sequence or bidi control of theirs goes out.
 */
export function ok(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: stripControls(text) }], structuredContent: structured };
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
    return {
      isError: true,
      // The message may quote the caller's input: written out (`\u001b`), so it still names it.
      content: [{ type: "text", text: escapeControls(`${wire.error.code}: ${wire.error.message}`) }],
    };
  }
}

/** JSON for a text block, trimmed so one tool answer never floods the caller's context. */
export function brief(value: unknown, max = 4000): string {
  const s = JSON.stringify(value);
  return s.length <= max ? s : `${s.slice(0, max)}… (truncated; see structuredContent)`;
}
