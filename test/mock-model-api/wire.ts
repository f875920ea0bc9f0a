/**
 * The three providers' wire formats as the pinned CLIs consume them (notes §7 and the requests
 * recorded in the fixtures' .meta.json): what a request asks for (tools offered, a tool result sent
 * back) and the SSE event sequence of one model turn (a text answer or a shell tool call).
 */

export type Provider = "anthropic" | "openai" | "gemini";

/** Fixed usage of every model turn, so every token figure a CLI reports is traceable. */
export const USAGE = { input: 1200, output: 34, cacheRead: 300, cacheWrite: 50, reasoning: 7 } as const;
export type Usage = { readonly [K in keyof typeof USAGE]: number };
/**
 * The `expensive` scenario's usage: USAGE × 100, so one turn costs cents to dimes at list price
 * (sonnet ≈ $0.44, gpt-5.5 ≈ $0.15, gemini-2.5-flash ≈ $0.04) while staying inside every model's
 * context window (gemini ends a turn whose prompt would not fit).
 */
export const EXPENSIVE_USAGE: Usage = {
  input: USAGE.input * 100,
  output: USAGE.output * 100,
  cacheRead: USAGE.cacheRead * 100,
  cacheWrite: USAGE.cacheWrite * 100,
  reasoning: USAGE.reasoning * 100,
};
export const REPLY = "Done: created hello.txt";
export const FAILED_REPLY = "Failed: could not create hello.txt";
export const NO_TOOL_REPLY = "Failed: no shell tool was offered";
export const DEFAULT_TOOL_COMMAND = "echo hello > hello.txt";

export interface SseEvent {
  event?: string;
  data: unknown;
}

/** What the mock reads from a request body: the model, the tools offered, a tool result sent back. */
export interface RequestSummary {
  model: string | null;
  stream: boolean;
  tools: string[];
  toolResult: { ok: boolean; text: string } | null;
  /** Text of the last user message (capped), to check what prompt reached the model. */
  userText: string;
}

/** A model turn: answer with text, or call a shell tool with a command. */
export type Turn = { kind: "text"; text: string; words?: boolean } | { kind: "tool"; tool: string; command: string };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v));

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  return arr(content)
    .map((c) => (isObj(c) && typeof c.text === "string" ? c.text : ""))
    .join("");
}

/** Text of the last message with `role` that carries text (a tool-result turn is skipped), capped. */
function lastText(messages: unknown[], role: string, field: "content" | "parts"): string {
  for (const m of [...messages].reverse()) {
    if (!isObj(m) || m.role !== role) continue;
    const text = textOf(m[field]);
    if (text) return text.length > 4000 ? text.slice(-4000) : text;
  }
  return "";
}

export function summarize(provider: Provider, body: unknown, pathModel: string | null): RequestSummary {
  const b = isObj(body) ? body : {};
  const model = pathModel ?? (typeof b.model === "string" ? b.model : null);
  if (provider === "anthropic") {
    const tools = arr(b.tools).flatMap((t) => (isObj(t) && typeof t.name === "string" ? [t.name] : []));
    // With --max-budget-usd, claude appends a `system` message ("USD budget: …") after the tool result.
    const last = arr(b.messages).findLast((m) => !(isObj(m) && m.role === "system"));
    const result = isObj(last) ? arr(last.content).find((c) => isObj(c) && c.type === "tool_result") : undefined;
    const toolResult = isObj(result) ? { ok: result.is_error !== true, text: textOf(result.content) } : null;
    return {
      model,
      stream: b.stream === true,
      tools,
      toolResult,
      userText: lastText(arr(b.messages), "user", "content"),
    };
  }
  if (provider === "openai") {
    const tools = arr(b.tools).flatMap((t) => (isObj(t) && typeof t.name === "string" ? [t.name] : []));
    const out = arr(b.input).findLast(
      (i) => isObj(i) && (i.type === "function_call_output" || i.type === "custom_tool_call_output"),
    );
    let toolResult: RequestSummary["toolResult"] = null;
    if (isObj(out)) {
      const text = isObj(out.output) ? str(out.output.content ?? out.output) : textOf(out.output);
      const code = /Process exited with code (\d+)/.exec(text)?.[1];
      toolResult = { ok: code !== undefined ? code === "0" : !/error|denied|failed/i.test(text), text };
    }
    const userText = typeof b.input === "string" ? b.input : lastText(arr(b.input), "user", "content");
    return { model, stream: b.stream === true, tools, toolResult, userText };
  }
  const contents = arr(b.contents);
  const tools = arr(b.tools)
    .flatMap((t) => (isObj(t) ? arr(t.functionDeclarations) : []))
    .flatMap((f) => (isObj(f) && typeof f.name === "string" ? [f.name] : []));
  const lastContent = contents.at(-1);
  const lastParts = isObj(lastContent) ? arr(lastContent.parts) : [];
  const fr = lastParts.map((p) => (isObj(p) ? p.functionResponse : undefined)).find(isObj);
  let toolResult: RequestSummary["toolResult"] = null;
  if (fr) {
    const resp = isObj(fr.response) ? fr.response : {};
    const text = str(resp.output ?? resp.error ?? resp);
    toolResult = { ok: resp.error === undefined && !/Exit Code: [1-9]|^Error:/m.test(text), text };
  }
  return { model, stream: true, tools, toolResult, userText: lastText(contents, "user", "parts") };
}

/** The tool each CLI offers for a shell command, and the arguments it takes. */
export function shellTool(provider: Provider, tools: readonly string[]): string | null {
  const prefs: Record<Provider, string[]> = {
    anthropic: ["Bash"],
    openai: ["exec_command", "shell_command", "shell"],
    gemini: ["run_shell_command"],
  };
  return prefs[provider].find((t) => tools.includes(t)) ?? null;
}

function toolArgs(tool: string, command: string): Json {
  if (tool === "exec_command") return { cmd: command };
  if (tool === "shell") return { command: ["bash", "-lc", command] };
  if (tool === "run_shell_command") return { command, description: "create the file" };
  return { command, description: "Create the file" };
}

function words(text: string, split: boolean | undefined): string[] {
  return split ? text.split(/(?<= )/) : [text];
}

/** Anthropic gives every message its own id (claude's session log keeps one usage record per id). */
let messages = 0;
const messageId = () => `msg_mock_${(++messages).toString().padStart(6, "0")}`;

export function anthropicTurn(model: string, turn: Turn, u: Usage = USAGE): SseEvent[] {
  const message = {
    id: messageId(),
    type: "message",
    role: "assistant",
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: {
      input_tokens: u.input,
      cache_creation_input_tokens: u.cacheWrite,
      cache_read_input_tokens: u.cacheRead,
      output_tokens: 1,
    },
  };
  const ev = (type: string, rest: Json): SseEvent => ({ event: type, data: { type, ...rest } });
  const body: SseEvent[] =
    turn.kind === "text"
      ? [
          ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
          ...words(turn.text, turn.words).map((w) =>
            ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: w } }),
          ),
        ]
      : [
          ev("content_block_start", {
            index: 0,
            content_block: { type: "tool_use", id: "toolu_mock_1", name: turn.tool, input: {} },
          }),
          ev("content_block_delta", {
            index: 0,
            delta: { type: "input_json_delta", partial_json: JSON.stringify(toolArgs(turn.tool, turn.command)) },
          }),
        ];
  return [
    ev("message_start", { message }),
    ...body,
    ev("content_block_stop", { index: 0 }),
    ev("message_delta", {
      delta: { stop_reason: turn.kind === "text" ? "end_turn" : "tool_use", stop_sequence: null },
      usage: { output_tokens: u.output },
    }),
    ev("message_stop", {}),
  ];
}

/** A non-streaming Messages answer (side requests such as titles; the CLIs stream their turns). */
export function anthropicMessage(model: string, text: string): Json {
  return {
    id: messageId(),
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: {
      input_tokens: USAGE.input,
      cache_creation_input_tokens: USAGE.cacheWrite,
      cache_read_input_tokens: USAGE.cacheRead,
      output_tokens: USAGE.output,
    },
  };
}

export function openaiTurn(model: string, turn: Turn, u: Usage = USAGE): SseEvent[] {
  let seq = 0;
  const ev = (type: string, rest: Json): SseEvent => ({ event: type, data: { type, sequence_number: seq++, ...rest } });
  const response = (status: string, output: unknown[]) => ({
    id: "resp_mock",
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output,
  });
  const usage = {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cacheRead },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
  let item: Json;
  let middle: SseEvent[];
  if (turn.kind === "text") {
    item = {
      id: "msg_mock",
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: turn.text, annotations: [] }],
    };
    middle = [
      ev("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", content: [] } }),
      ev("response.content_part.added", {
        item_id: "msg_mock",
        output_index: 0,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] },
      }),
      ...words(turn.text, turn.words).map((w) =>
        ev("response.output_text.delta", { item_id: "msg_mock", output_index: 0, content_index: 0, delta: w }),
      ),
      ev("response.output_text.done", { item_id: "msg_mock", output_index: 0, content_index: 0, text: turn.text }),
    ];
  } else {
    const args = JSON.stringify(toolArgs(turn.tool, turn.command));
    item = {
      id: "fc_mock",
      type: "function_call",
      status: "completed",
      call_id: "call_mock_1",
      name: turn.tool,
      arguments: args,
    };
    middle = [
      ev("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", arguments: "" } }),
      ev("response.function_call_arguments.delta", { item_id: "fc_mock", output_index: 0, delta: args }),
      ev("response.function_call_arguments.done", { item_id: "fc_mock", output_index: 0, arguments: args }),
    ];
  }
  return [
    ev("response.created", { response: response("in_progress", []) }),
    ...middle,
    ev("response.output_item.done", { output_index: 0, item }),
    ev("response.completed", { response: { ...response("completed", [item]), usage } }),
  ];
}

function geminiChunk(model: string, parts: unknown[], last: boolean, u: Usage = USAGE): Json {
  return {
    candidates: [{ content: { role: "model", parts }, index: 0, ...(last ? { finishReason: "STOP" } : {}) }],
    ...(last
      ? {
          usageMetadata: {
            promptTokenCount: u.input,
            candidatesTokenCount: u.output,
            totalTokenCount: u.input + u.output + u.reasoning,
            cachedContentTokenCount: u.cacheRead,
            thoughtsTokenCount: u.reasoning,
          },
        }
      : {}),
    modelVersion: model,
    responseId: "resp_mock",
  };
}

export function geminiTurn(model: string, turn: Turn, u: Usage = USAGE): SseEvent[] {
  if (turn.kind === "tool")
    return [
      {
        data: geminiChunk(
          model,
          [{ functionCall: { name: turn.tool, args: toolArgs(turn.tool, turn.command) } }],
          true,
          u,
        ),
      },
    ];
  const ws = words(turn.text, turn.words);
  return ws.map((w, i) => ({ data: geminiChunk(model, [{ text: w }], i === ws.length - 1, u) }));
}

/** Non-streaming generateContent (gemini's side calls: JSON-schema requests get JSON built from the schema). */
export function geminiGenerate(model: string, body: unknown): Json {
  const cfg = isObj(body) && isObj(body.generationConfig) ? body.generationConfig : {};
  const schema = cfg.responseJsonSchema ?? cfg.responseSchema;
  const text = schema !== undefined ? JSON.stringify(fromSchema(schema)) : REPLY;
  return geminiChunk(model, [{ text }], true);
}

function fromSchema(schema: unknown, depth = 0): unknown {
  if (!isObj(schema) || depth > 6) return null;
  const type = str(schema.type).toLowerCase();
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (type === "object") {
    const props = isObj(schema.properties) ? schema.properties : {};
    return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, fromSchema(v, depth + 1)]));
  }
  if (type === "array") return [];
  if (type === "boolean") return false;
  if (type === "number" || type === "integer") return 0;
  return type === "string" ? "mock" : null;
}

const ERROR_TYPES: Record<number, [anthropic: string, openai: string, gemini: string]> = {
  400: ["invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"],
  401: ["authentication_error", "invalid_api_key", "UNAUTHENTICATED"],
  403: ["permission_error", "insufficient_permissions", "PERMISSION_DENIED"],
  404: ["not_found_error", "model_not_found", "NOT_FOUND"],
  429: ["rate_limit_error", "rate_limit_exceeded", "RESOURCE_EXHAUSTED"],
  500: ["api_error", "server_error", "INTERNAL"],
  503: ["api_error", "server_error", "UNAVAILABLE"],
  529: ["overloaded_error", "server_error", "UNAVAILABLE"],
};
const ERROR_MESSAGES: Record<number, string> = {
  401: "mock: invalid API key",
  403: "mock: forbidden",
  429: "mock: rate limit exceeded",
  500: "mock: internal server error",
  529: "mock: overloaded",
};

/** The error body each provider sends with a failing HTTP status. */
export function errorBody(provider: Provider | "other", status: number): Json {
  const [a, o, g] = ERROR_TYPES[status] ??
    (status >= 500 ? ERROR_TYPES[500] : ERROR_TYPES[400]) ?? ["api_error", "server_error", "INTERNAL"];
  const message = ERROR_MESSAGES[status] ?? `mock: HTTP ${status}`;
  if (provider === "anthropic") return { type: "error", error: { type: a, message } };
  if (provider === "openai") return { error: { message, type: o, code: o, param: null } };
  return { error: { code: status, message, status: g } };
}
