/**
 * A local mock of the three model APIs the agent CLIs call, speaking their real wire formats (see
 * wire.ts):
 *   Anthropic  POST …/v1/messages                                  (claude)
 *   OpenAI     POST …/v1/responses                                 (codex, custom provider)
 *   Gemini     POST …/v1beta/models/{model}:streamGenerateContent  (gemini)
 * Usage is always input 1200, output 34, cache-read 300, cache-write 50 (Anthropic), reasoning 7.
 *
 * A scenario is chosen by a path prefix `/s/<name>/…` in the CLI's base URL:
 *   ok (default)  one text answer
 *   tool          a real shell tool call (`echo hello > hello.txt`), then "Done: …" or "Failed: …"
 *                 depending on the tool result the CLI sends back
 *   401 403 429 500 529 (any 4xx/5xx)   that status with the provider's error body
 *   expensive     like tool, but every turn is a tool call (the agent never finishes) and reports
 *                 USAGE × 100 (wire.ts): a few turns pass a small budget
 *   tool-hang     the tool call of `tool`, then never answers the turn that brings its result: a run
 *                 that has logged one model response and then hangs (killed at its timeout)
 *   hang          reads the request and never answers
 *   slow          streams the answer one word per `slowMs` (default 1000)
 *   drop          sends the first SSE event, then destroys the socket
 *   picky         a model that fails hard tasks: a 500 when the prompt contains HARD_MARKER, else ok
 * "Server down" needs no scenario: point the CLI at a closed port.
 *
 * OAuth (oauth.ts): codex's device login and token refresh against the mock, under any scenario.
 * Control endpoints: GET /__mock/health, GET /__mock/log (every request so far), POST /__mock/reset.
 * Binds 127.0.0.1 only. Plain node:http, no dependencies, erasable TS so Node 22 runs it directly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type OAuthExchange, oauthIssuer } from "./oauth.ts";
import {
  anthropicMessage,
  anthropicTurn,
  DEFAULT_TOOL_COMMAND,
  EXPENSIVE_USAGE,
  errorBody,
  FAILED_REPLY,
  geminiGenerate,
  geminiTurn,
  NO_TOOL_REPLY,
  openaiTurn,
  type Provider,
  REPLY,
  type SseEvent,
  shellTool,
  summarize,
  type Turn,
  USAGE,
} from "./wire.ts";

export { jwtClaims, MOCK_ACCOUNT_ID, MOCK_EMAIL, mockJwt } from "./oauth.ts";
export { DEFAULT_TOOL_COMMAND, EXPENSIVE_USAGE, FAILED_REPLY, NO_TOOL_REPLY, REPLY, USAGE } from "./wire.ts";

export interface MockRequest {
  seq: number;
  at: string;
  method: string;
  /** Path without the `/s/<scenario>` prefix and without the query. */
  path: string;
  query: string;
  scenario: string;
  provider: Provider | "other";
  model: string | null;
  stream: boolean;
  /** Names of the tools the CLI offered the model. */
  tools: string[];
  /** The tool result the CLI sent back, when this request carries one. */
  toolResult: { ok: boolean; text: string } | null;
  /** Text of the last user message (capped), to check which prompt reached the model. */
  userText: string;
  /** The credentials the request carried, as the provider would see them. */
  credentials: {
    /** `Authorization: Bearer …` (claude's CLAUDE_CODE_OAUTH_TOKEN, codex's key or ChatGPT token). */
    bearer: string | null;
    /** `x-api-key` (Anthropic) or `x-goog-api-key` (Gemini). */
    apiKey: string | null;
    /** `chatgpt-account-id`, sent with a ChatGPT login. */
    accountId: string | null;
  };
  /** For the OAuth endpoints: what was exchanged. */
  oauth: OAuthExchange | null;
}

export interface MockModelApiOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Delay between streamed words in the `slow` scenario. */
  slowMs?: number;
  /** The shell command the `tool` scenario asks the CLI to run. */
  toolCommand?: string;
  /** Lifetime of the access token an OAuth login issues (default 3600 s; refreshed ones: 3600 s). */
  loginTokenTtlSeconds?: number;
}

export interface MockModelApi {
  /** `http://127.0.0.1:<port>`; append `/s/<scenario>` for a scenario. */
  url: string;
  port: number;
  /** A copy of every request so far (control endpoints excluded). */
  requests(): MockRequest[];
  reset(): void;
  /** Closes the server and every connection, including hanging ones. */
  close(): Promise<void>;
}

const SCENARIO = /^\/s\/([a-z0-9_-]+)(\/.*)?$/;
const KNOWN = new Set(["ok", "tool", "tool-hang", "expensive", "hang", "slow", "drop", "picky"]);
/** What makes a prompt hard for the `picky` scenario. */
export const HARD_MARKER = "[hard]";

const header = (req: IncomingMessage, name: string): string | null => {
  const v = req.headers[name];
  return typeof v === "string" && v !== "" ? v : null;
};

function credentialsOf(req: IncomingMessage): MockRequest["credentials"] {
  const bearer = /^Bearer (.+)$/i.exec(header(req, "authorization") ?? "")?.[1] ?? null;
  return {
    bearer,
    apiKey: header(req, "x-api-key") ?? header(req, "x-goog-api-key"),
    accountId: header(req, "chatgpt-account-id"),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

function providerOf(path: string): Provider | "other" {
  if (path.endsWith("/messages")) return "anthropic";
  if (path.endsWith("/responses")) return "openai";
  if (/:(stream)?generateContent$/i.test(path)) return "gemini";
  return "other";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startMockModelApi(opts: MockModelApiOptions = {}): Promise<MockModelApi> {
  const slowMs = opts.slowMs ?? 1000;
  const toolCommand = opts.toolCommand ?? DEFAULT_TOOL_COMMAND;
  const issuer = oauthIssuer(opts.loginTokenTtlSeconds);
  const log: MockRequest[] = [];
  let seq = 0;

  async function streamEvents(res: ServerResponse, events: SseEvent[], scenario: string): Promise<void> {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    for (const [i, e] of events.entries()) {
      if (res.destroyed) return;
      if (scenario === "slow" && i > 0) await sleep(slowMs);
      res.write(`${e.event ? `event: ${e.event}\n` : ""}data: ${JSON.stringify(e.data)}\n\n`);
      if (scenario === "drop") {
        // Let the first event reach the client, then cut the connection mid-stream.
        await new Promise<void>((r) => res.write("", () => r()));
        res.socket?.destroy();
        return;
      }
    }
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://mock");
    if (url.pathname === "/__mock/health") return json(res, 200, { ok: true, requests: log.length });
    if (url.pathname === "/__mock/log") return json(res, 200, log);
    if (url.pathname === "/__mock/reset") {
      log.splice(0);
      return json(res, 200, { ok: true });
    }
    const m = SCENARIO.exec(url.pathname);
    const scenario = m?.[1] ?? "ok";
    const path = m ? (m[2] ?? "/") : url.pathname;
    const body = req.method === "POST" ? await readBody(req) : "";
    let parsed: unknown;
    try {
      parsed = body ? JSON.parse(body) : undefined;
    } catch {
      parsed = undefined;
    }
    const provider = providerOf(path);
    const pathModel = provider === "gemini" ? (/models\/([^:/]+):/.exec(path)?.[1] ?? null) : null;
    const summary =
      provider === "other"
        ? { model: null, stream: false, tools: [], toolResult: null, userText: "" }
        : summarize(provider, parsed, pathModel);
    const oauth = req.method === "POST" ? issuer.handle(path, body) : null;
    log.push({
      seq: ++seq,
      at: new Date().toISOString(),
      method: req.method ?? "GET",
      path,
      query: url.search,
      scenario,
      provider,
      ...summary,
      credentials: credentialsOf(req),
      oauth: oauth?.exchange ?? null,
    });
    if (oauth) return json(res, oauth.status, oauth.body);

    // claude's connectivity probe (HEAD /api/hello; 2.1.197 sent HEAD /) and anything else harmless.
    if (req.method === "HEAD") return void res.writeHead(200).end();
    if (/^\d{3}$/.test(scenario) && Number(scenario) >= 400)
      return json(res, Number(scenario), errorBody(provider, Number(scenario)));
    if (!KNOWN.has(scenario)) return json(res, 404, { error: { message: `mock: unknown scenario '${scenario}'` } });
    if (req.method !== "POST") return json(res, 404, { error: { message: "mock: not found" } });
    if (path.endsWith("/messages/count_tokens")) return json(res, 200, { input_tokens: USAGE.input });
    if (/:countTokens$/i.test(path)) return json(res, 200, { totalTokens: USAGE.input });
    if (provider === "other") return json(res, 404, { error: { message: "mock: unknown endpoint" } });
    if (scenario === "picky" && summary.userText.includes(HARD_MARKER)) return json(res, 500, errorBody(provider, 500));
    if (scenario === "hang") return; // the response stays open until the client gives up or close()
    if (scenario === "tool-hang" && summary.toolResult) return;

    const model = summary.model ?? "mock-model";
    let turn: Turn;
    const expensive = scenario === "expensive";
    if (scenario !== "tool" && scenario !== "tool-hang" && !expensive)
      turn = { kind: "text", text: REPLY, words: scenario === "slow" };
    else if (summary.toolResult && !expensive)
      turn = { kind: "text", text: summary.toolResult.ok ? REPLY : FAILED_REPLY };
    else {
      const tool = shellTool(provider, summary.tools);
      // A new command each expensive turn (a shell comment): gemini stops a run that repeats a call.
      const command = expensive ? `${toolCommand} # ${seq}` : toolCommand;
      turn = tool ? { kind: "tool", tool, command } : { kind: "text", text: NO_TOOL_REPLY };
    }
    const streamed = provider === "gemini" ? /:streamGenerateContent$/i.test(path) : summary.stream;
    if (!streamed) {
      // claude retries a dropped stream once without streaming (even with retries off): drop that too.
      if (scenario === "drop") return void res.socket?.destroy();
      if (scenario === "slow") await sleep(slowMs);
      if (provider === "anthropic")
        return json(res, 200, anthropicMessage(model, turn.kind === "text" ? turn.text : REPLY));
      if (provider === "gemini") return json(res, 200, geminiGenerate(model, parsed));
      return json(res, 400, errorBody(provider, 400));
    }
    const usage = expensive ? EXPENSIVE_USAGE : undefined;
    const events =
      provider === "anthropic"
        ? anthropicTurn(model, turn, usage)
        : provider === "openai"
          ? openaiTurn(model, turn, usage)
          : geminiTurn(model, turn, usage);
    await streamEvents(res, events, scenario);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: { message: `mock crashed: ${String(err)}` } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => log.map((r) => ({ ...r, tools: [...r.tools] })),
    reset: () => void log.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
