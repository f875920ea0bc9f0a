/**
 * The mock model API on its own (the real CLIs exercise it further in real-*.test.ts): control
 * endpoints, each provider's SSE sequence and error body, the scenarios, and the process entry.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EXPENSIVE_USAGE,
  FAILED_REPLY,
  HARD_MARKER,
  jwtClaims,
  MOCK_ACCOUNT_ID,
  type MockModelApi,
  NO_TOOL_REPLY,
  REPLY,
  startMockModelApi,
  USAGE,
} from "../../../test/mock-model-api/server.ts";

let mock: MockModelApi;
beforeAll(async () => {
  mock = await startMockModelApi({ slowMs: 20, toolCommand: "touch x" });
});
afterAll(() => mock.close());

interface Sse {
  event?: string;
  data: Record<string, unknown>;
}

async function post(pathname: string, body: unknown): Promise<Response> {
  return fetch(`${mock.url}${pathname}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function parseSse(text: string): Sse[] {
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as Record<string, unknown>;
      return event ? { event, data } : { data };
    });
}

const ANTHROPIC = (extra: Record<string, unknown> = {}) => ({
  model: "claude-x",
  stream: true,
  messages: [{ role: "user", content: [{ type: "text", text: "hi there" }] }],
  tools: [{ name: "Bash" }],
  ...extra,
});
const OPENAI = (extra: Record<string, unknown> = {}) => ({
  model: "gpt-x",
  stream: true,
  input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi there" }] }],
  tools: [{ type: "function", name: "exec_command" }],
  ...extra,
});
const GEMINI = (extra: Record<string, unknown> = {}) => ({
  contents: [{ role: "user", parts: [{ text: "hi there" }] }],
  tools: [{ functionDeclarations: [{ name: "run_shell_command" }] }],
  ...extra,
});
const GEMINI_PATH = "/v1beta/models/gemini-x:streamGenerateContent?alt=sse";

describe("mock model API", () => {
  it("listens on 127.0.0.1 and answers the control endpoints", async () => {
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    mock.reset();
    expect(await (await fetch(`${mock.url}/__mock/health`)).json()).toEqual({ ok: true, requests: 0 });
    await post("/v1/messages", ANTHROPIC());
    const log = (await (await fetch(`${mock.url}/__mock/log`)).json()) as unknown[];
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      method: "POST",
      path: "/v1/messages",
      scenario: "ok",
      provider: "anthropic",
      model: "claude-x",
      tools: ["Bash"],
      userText: "hi there",
    });
    expect(mock.requests()).toEqual(log);
    await fetch(`${mock.url}/__mock/reset`, { method: "POST" });
    expect(mock.requests()).toEqual([]);
  });

  it("anthropic: message_start … message_stop with the fixed usage", async () => {
    const events = parseSse(await (await post("/s/ok/v1/messages?beta=true", ANTHROPIC())).text());
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events[0]?.data).toMatchObject({
      message: {
        model: "claude-x",
        usage: {
          input_tokens: USAGE.input,
          cache_read_input_tokens: USAGE.cacheRead,
          cache_creation_input_tokens: USAGE.cacheWrite,
        },
      },
    });
    expect(events[2]?.data).toMatchObject({ delta: { type: "text_delta", text: REPLY } });
    expect(events[4]?.data).toMatchObject({
      delta: { stop_reason: "end_turn" },
      usage: { output_tokens: USAGE.output },
    });
  });

  it("openai responses: created … completed with usage (cached inside input, reasoning inside output)", async () => {
    const events = parseSse(await (await post("/v1/responses", OPENAI())).text());
    expect(events.at(0)?.event).toBe("response.created");
    expect(events.at(-1)?.data).toMatchObject({
      type: "response.completed",
      response: {
        usage: {
          input_tokens: USAGE.input,
          input_tokens_details: { cached_tokens: USAGE.cacheRead },
          output_tokens: USAGE.output,
          output_tokens_details: { reasoning_tokens: USAGE.reasoning },
        },
      },
    });
    expect(events.find((e) => e.event === "response.output_item.done")?.data).toMatchObject({
      item: { type: "message", content: [{ type: "output_text", text: REPLY }] },
    });
  });

  it("gemini: data-only chunks with usageMetadata and the model from the path", async () => {
    const events = parseSse(await (await post(GEMINI_PATH, GEMINI())).text());
    expect(events.at(-1)?.data).toMatchObject({
      candidates: [{ content: { role: "model", parts: [{ text: REPLY }] }, finishReason: "STOP" }],
      usageMetadata: {
        promptTokenCount: USAGE.input,
        candidatesTokenCount: USAGE.output,
        cachedContentTokenCount: USAGE.cacheRead,
        thoughtsTokenCount: USAGE.reasoning,
      },
      modelVersion: "gemini-x",
    });
    expect(mock.requests().at(-1)).toMatchObject({
      provider: "gemini",
      model: "gemini-x",
      query: "?alt=sse",
      tools: ["run_shell_command"],
    });
  });

  it("error scenarios: the status and each provider's error body", async () => {
    const a = await post("/s/401/v1/messages", ANTHROPIC());
    expect(a.status).toBe(401);
    expect(await a.json()).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "mock: invalid API key" },
    });
    const o = await post("/s/429/v1/responses", OPENAI());
    expect(o.status).toBe(429);
    expect(await o.json()).toMatchObject({
      error: { code: "rate_limit_exceeded", message: "mock: rate limit exceeded" },
    });
    const g = await post(`/s/500${GEMINI_PATH}`, GEMINI());
    expect(g.status).toBe(500);
    expect(await g.json()).toEqual({
      error: { code: 500, message: "mock: internal server error", status: "INTERNAL" },
    });
    expect((await post("/s/403/v1/messages", ANTHROPIC())).status).toBe(403);
    expect((await post("/s/529/v1/messages", ANTHROPIC())).status).toBe(529);
    expect((await post("/s/nonsense/v1/messages", ANTHROPIC())).status).toBe(404);
  });

  it("picky: a 500 for a prompt with the hard marker, the usual answer otherwise", async () => {
    const hard = [{ role: "user", content: [{ type: "text", text: `${HARD_MARKER} fix the parser` }] }];
    const failed = await post("/s/picky/v1/messages", ANTHROPIC({ messages: hard }));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ type: "error", error: { type: "api_error" } });
    const easy = await post("/s/picky/v1/messages", ANTHROPIC());
    expect(easy.status).toBe(200);
    expect(await easy.text()).toContain(REPLY);
    const geminiHard = [{ role: "user", parts: [{ text: `${HARD_MARKER} fix the parser` }] }];
    expect((await post(`/s/picky${GEMINI_PATH}`, GEMINI({ contents: geminiHard }))).status).toBe(500);
  });

  it("tool: a shell call first, then the answer that matches the tool result", async () => {
    const first = parseSse(await (await post("/s/tool/v1/messages", ANTHROPIC())).text());
    expect(first[1]?.data).toMatchObject({ content_block: { type: "tool_use", name: "Bash" } });
    expect(first[2]?.data).toMatchObject({
      delta: {
        type: "input_json_delta",
        partial_json: JSON.stringify({ command: "touch x", description: "Create the file" }),
      },
    });
    const done = (body: Record<string, unknown>) =>
      post("/s/tool/v1/messages", ANTHROPIC(body)).then(async (r) => parseSse(await r.text())[2]?.data);
    const result = (isError: boolean) => ({
      messages: [
        { role: "user", content: "go" },
        { role: "assistant", content: [] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t", is_error: isError, content: "out" }] },
      ],
    });
    expect(await done(result(false))).toMatchObject({ delta: { text: REPLY } });
    expect(await done(result(true))).toMatchObject({ delta: { text: FAILED_REPLY } });
    // claude with --max-budget-usd sends a system message ("USD budget: …") after the tool result.
    const budgeted = result(false);
    budgeted.messages.push({ role: "system", content: [{ type: "text", text: "USD budget: $0.01/$5" }] } as never);
    expect(await done(budgeted)).toMatchObject({ delta: { text: REPLY } });
    expect(await done({ tools: [{ name: "Read" }] })).toMatchObject({ delta: { text: NO_TOOL_REPLY } });

    const codex = parseSse(await (await post("/s/tool/v1/responses", OPENAI())).text());
    expect(codex.find((e) => e.event === "response.output_item.done")?.data).toMatchObject({
      item: { type: "function_call", name: "exec_command", arguments: JSON.stringify({ cmd: "touch x" }) },
    });
    const codexDone = parseSse(
      await (
        await post(
          "/s/tool/v1/responses",
          OPENAI({ input: [{ type: "function_call_output", call_id: "c", output: "Process exited with code 1\n" }] }),
        )
      ).text(),
    );
    expect(codexDone.find((e) => e.event === "response.output_item.done")?.data).toMatchObject({
      item: { content: [{ text: FAILED_REPLY }] },
    });

    const gem = parseSse(await (await post(`/s/tool${GEMINI_PATH}`, GEMINI())).text());
    expect(gem[0]?.data).toMatchObject({
      candidates: [
        { content: { parts: [{ functionCall: { name: "run_shell_command", args: { command: "touch x" } } }] } },
      ],
    });
    expect(mock.requests().at(-1)?.toolResult).toBeNull();
  });

  it("logs the credentials a request carries: bearer, API key header, ChatGPT account", async () => {
    const send = (headers: Record<string, string>) =>
      fetch(`${mock.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(ANTHROPIC()),
      }).then((r) => r.text());
    await send({ authorization: "Bearer tok-1", "chatgpt-account-id": "acct" });
    expect(mock.requests().at(-1)?.credentials).toEqual({ bearer: "tok-1", apiKey: null, accountId: "acct" });
    await send({ "x-api-key": "key-1" });
    expect(mock.requests().at(-1)?.credentials).toEqual({ bearer: null, apiKey: "key-1", accountId: null });
  });

  it("expensive: a tool call every turn, even after a tool result, a new command each time, at 100× usage", async () => {
    const withResult = ANTHROPIC({
      messages: [
        { role: "user", content: "go" },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "ok" }] },
      ],
    });
    const turns = [
      parseSse(await (await post("/s/expensive/v1/messages", ANTHROPIC())).text()),
      parseSse(await (await post("/s/expensive/v1/messages", withResult)).text()),
    ];
    const commands = turns.map((t) => {
      expect(t[1]?.data).toMatchObject({ content_block: { type: "tool_use", name: "Bash" } });
      expect(t[0]?.data).toMatchObject({ message: { usage: { input_tokens: EXPENSIVE_USAGE.input } } });
      return JSON.parse(String((t[2]?.data.delta as { partial_json: string }).partial_json)).command as string;
    });
    expect(commands[0]).toMatch(/^touch x # \d+$/);
    expect(commands[1]).not.toBe(commands[0]);
    expect(EXPENSIVE_USAGE.input).toBe(100 * USAGE.input);
  });

  it("tool-hang: the tool call, then no answer to the turn that brings its result", async () => {
    const first = parseSse(await (await post("/s/tool-hang/v1/responses", OPENAI())).text());
    expect(first.find((e) => e.event === "response.output_item.done")?.data).toMatchObject({
      item: { type: "function_call" },
    });
    const late = await Promise.race([
      post(
        "/s/tool-hang/v1/responses",
        OPENAI({ input: [{ type: "function_call_output", call_id: "c", output: "x" }] }),
      ).then(() => "answered"),
      new Promise((r) => setTimeout(() => r("no answer"), 300)),
    ]);
    expect(late).toBe("no answer");
  });

  it("OAuth: codex's device login and refresh, numbered tokens with the ChatGPT claims", async () => {
    const code = await (await post("/api/accounts/deviceauth/usercode", { client_id: "app" })).json();
    expect(code).toMatchObject({ device_auth_id: expect.any(String), user_code: expect.any(String) });
    const grant = (await (await post("/api/accounts/deviceauth/token", code)).json()) as Record<string, string>;
    expect(grant).toMatchObject({ authorization_code: expect.any(String), code_verifier: expect.any(String) });
    const form = await fetch(`${mock.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", code: String(grant.authorization_code) }),
    });
    const login = (await form.json()) as { access_token: string; refresh_token: string; id_token: string };
    expect(jwtClaims(login.id_token)).toMatchObject({
      "https://api.openai.com/auth": { chatgpt_account_id: MOCK_ACCOUNT_ID },
    });
    const refreshed = (await (
      await post("/oauth/token", { grant_type: "refresh_token", refresh_token: login.refresh_token })
    ).json()) as { access_token: string; refresh_token: string };
    expect(refreshed.refresh_token).not.toBe(login.refresh_token);
    expect(Number(String(jwtClaims(refreshed.access_token).jti).slice(3))).toBe(
      Number(String(jwtClaims(login.access_token).jti).slice(3)) + 1,
    );
    expect(mock.requests().at(-1)?.oauth).toEqual({ grant: "refresh_token", refreshToken: login.refresh_token });
  });

  it("slow: the answer arrives word by word", async () => {
    const events = parseSse(await (await post("/s/slow/v1/messages", ANTHROPIC())).text());
    const words = events
      .filter((e) => e.event === "content_block_delta")
      .map((e) => (e.data.delta as { text: string }).text);
    expect(words.length).toBeGreaterThan(2);
    expect(words.join("")).toBe(REPLY);
  });

  it("drop: the stream breaks after the first event", async () => {
    const res = await post("/s/drop/v1/responses", OPENAI());
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it("hang: no answer; close() still ends the server with the request open", async () => {
    const own = await startMockModelApi();
    const ac = new AbortController();
    const pending = fetch(`${own.url}/s/hang/v1/messages`, {
      method: "POST",
      body: JSON.stringify(ANTHROPIC()),
      signal: ac.signal,
    }).then(
      () => "answered",
      () => "failed",
    );
    while (own.requests().length === 0) await new Promise((r) => setTimeout(r, 5));
    await own.close();
    expect(await pending).toBe("failed");
    ac.abort();
  });

  it("runs as a process: --port, one JSON line with the url, SIGTERM stops it", async () => {
    const main = path.resolve(import.meta.dirname, "../../../test/mock-model-api/main.ts");
    const child = spawn(process.execPath, [main, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
      const { event, url } = JSON.parse(line) as { event: string; url: string };
      expect(event).toBe("listening");
      expect(await (await fetch(`${url}/__mock/health`)).json()).toMatchObject({ ok: true });
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
  });
});
