/**
 * A local mock of the three model APIs the agent CLIs call, speaking their real wire formats
 * (SSE event sequences as captured from the real CLIs, see /shared notes section 7):
 *   Anthropic  POST …/v1/messages                                  (claude)
 *   OpenAI     POST …/v1/responses                                 (codex, custom provider)
 *   Gemini     POST …/v1beta/models/{model}:streamGenerateContent  (gemini)
 * Usage is always input 1200, output 34, cache-read 300, cache-write 50 (Anthropic), reasoning 7.
 * A scenario is chosen by a path prefix `/s/<name>`: ok (default), 401, 403, 429, 500, hang, slow,
 * drop. Binds 127.0.0.1 only. Plain node:http, no dependencies; erasable TS so Node 22 runs it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const USAGE = { input: 1200, output: 34, cacheRead: 300, cacheWrite: 50, reasoning: 7 };
export const REPLY = "Done: created hello.txt";

export interface MockRequest {
  method: string;
  path: string;
  scenario: string;
  provider: "anthropic" | "openai" | "gemini" | "other";
  model: string | null;
}

export interface MockModelApi {
  url: string;
  requests(): MockRequest[];
  reset(): void;
  close(): Promise<void>;
}

type Provider = MockRequest["provider"];

const ERRORS: Record<string, { status: number; anthropic: string; openai: string; gemini: string; message: string }> = {
  "401": { status: 401, anthropic: "authentication_error", openai: "invalid_api_key", gemini: "UNAUTHENTICATED", message: "mock: invalid API key" },
  "403": { status: 403, anthropic: "permission_error", openai: "insufficient_permissions", gemini: "PERMISSION_DENIED", message: "mock: forbidden" },
  "429": { status: 429, anthropic: "rate_limit_error", openai: "rate_limit_exceeded", gemini: "RESOURCE_EXHAUSTED", message: "mock: rate limit exceeded" },
  "500": { status: 500, anthropic: "api_error", openai: "server_error", gemini: "INTERNAL", message: "mock: internal server error" },
};

function sse(res: ServerResponse, events: { event?: string; data: unknown }[], drop: boolean): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  for (const [i, e] of events.entries()) {
    res.write(`${e.event ? `event: ${e.event}\n` : ""}data: ${JSON.stringify(e.data)}\n\n`);
    if (drop && i === 0) {
      res.socket?.destroy();
      return;
    }
  }
  res.end();
}

function anthropicEvents(model: string): { event: string; data: unknown }[] {
  const msg = { id: "msg_mock", type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: USAGE.input, cache_creation_input_tokens: USAGE.cacheWrite, cache_read_input_tokens: USAGE.cacheRead, output_tokens: 1 } };
  return [
    { event: "message_start", data: { type: "message_start", message: msg } },
    { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
    { event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: REPLY } } },
    { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
    { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: USAGE.output } } },
    { event: "message_stop", data: { type: "message_stop" } },
  ];
}

function openaiEvents(model: string): { event: string; data: unknown }[] {
  const item = { id: "msg_mock", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: REPLY, annotations: [] }] };
  const response = (status: string, output: unknown[]) => ({ id: "resp_mock", object: "response", created_at: Math.floor(Date.now() / 1000), status, model, output });
  return [
    { event: "response.created", data: { type: "response.created", sequence_number: 0, response: response("in_progress", []) } },
    { event: "response.output_item.added", data: { type: "response.output_item.added", sequence_number: 1, output_index: 0, item: { ...item, status: "in_progress", content: [] } } },
    { event: "response.output_text.delta", data: { type: "response.output_text.delta", sequence_number: 2, item_id: "msg_mock", output_index: 0, content_index: 0, delta: REPLY } },
    { event: "response.output_item.done", data: { type: "response.output_item.done", sequence_number: 3, output_index: 0, item } },
    {
      event: "response.completed",
      data: {
        type: "response.completed",
        sequence_number: 4,
        response: {
          ...response("completed", [item]),
          usage: { input_tokens: USAGE.input, input_tokens_details: { cached_tokens: USAGE.cacheRead }, output_tokens: USAGE.output, output_tokens_details: { reasoning_tokens: USAGE.reasoning }, total_tokens: USAGE.input + USAGE.output },
        },
      },
    },
  ];
}

function geminiEvents(model: string): { data: unknown }[] {
  return [
    {
      data: {
        candidates: [{ content: { role: "model", parts: [{ text: REPLY }] }, finishReason: "STOP", index: 0 }],
        usageMetadata: { promptTokenCount: USAGE.input, candidatesTokenCount: USAGE.output, totalTokenCount: USAGE.input + USAGE.output + USAGE.reasoning, cachedContentTokenCount: USAGE.cacheRead, thoughtsTokenCount: USAGE.reasoning },
        modelVersion: model,
        responseId: "resp_mock",
      },
    },
  ];
}

function errorBody(provider: Provider, e: (typeof ERRORS)[string]): unknown {
  if (provider === "anthropic") return { type: "error", error: { type: e.anthropic, message: e.message } };
  if (provider === "openai") return { error: { message: e.message, type: e.openai, code: e.openai } };
  return { error: { code: e.status, message: e.message, status: e.gemini } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startMockModelApi(opts: { port?: number } = {}): Promise<MockModelApi> {
  const log: MockRequest[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://mock");
    const m = /^\/s\/([a-z0-9]+)(\/.*)$/.exec(url.pathname);
    const scenario = m?.[1] ?? "ok";
    const path = m?.[2] ?? url.pathname;
    if (path === "/__mock/health") return void res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    if (req.method === "HEAD" || req.method === "GET") return void res.writeHead(200).end();
    const body = await readBody(req);
    const provider: Provider = path.endsWith("/v1/messages") ? "anthropic" : path.endsWith("/responses") ? "openai" : path.includes(":streamGenerateContent") || path.includes(":generateContent") ? "gemini" : "other";
    let model: string | null = null;
    try {
      model = (JSON.parse(body) as { model?: string }).model ?? null;
    } catch {
      // not JSON
    }
    if (provider === "gemini") model = /models\/([^:]+):/.exec(path)?.[1] ?? model;
    log.push({ method: req.method ?? "POST", path, scenario, provider, model });
    const err = ERRORS[scenario];
    if (err) return void res.writeHead(err.status, { "content-type": "application/json" }).end(JSON.stringify(errorBody(provider, err)));
    if (scenario === "hang") {
      open.add(res);
      return;
    }
    const name = model ?? "mock-model";
    const events = provider === "anthropic" ? anthropicEvents(name) : provider === "openai" ? openaiEvents(name) : provider === "gemini" ? geminiEvents(name) : null;
    if (!events) return void res.writeHead(404, { "content-type": "application/json" }).end('{"error":"unknown endpoint"}');
    if (scenario === "slow") await new Promise((r) => setTimeout(r, 1000));
    sse(res, events, scenario === "drop");
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...log],
    reset: () => void log.splice(0),
    close: () =>
      new Promise((r) => {
        for (const res of open) res.socket?.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
