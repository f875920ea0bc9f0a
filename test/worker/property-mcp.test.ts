/**
 * Generated inputs against the MCP tools, through the real server (reliability checklist item 10):
 * valid inputs are accepted, invalid ones are a tool error (isError) or a JSON-RPC client error,
 * and nothing ever answers ≥ 500 or with JSON-RPC's internal error (-32603).
 */
import { env } from "cloudflare:workers";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setHealthFetch } from "../../worker/services/health.ts";
import { connect, rpc } from "./mcp-client.ts";

let client: Client;
beforeAll(async () => {
  client = await connect();
  // `health` is among the generated calls: keep its probe off the network (and off a running local stack).
  setHealthFetch(() => Promise.reject(new Error("no executor in this test")));
});
afterAll(() => setHealthFetch(null));

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text?: string }[] };
const call = async (name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as ToolResult;
const taskCount = async () => (await env.DB.prepare("SELECT count(*) AS n FROM tasks").first<{ n: number }>())?.n ?? 0;

const kvKey = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9:._/-]{0,40}$/);
const repo = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/);
const kind = fc.stringMatching(/^[a-z0-9-]{1,40}$/);

describe("MCP tools under generated inputs", () => {
  it("never answers ≥ 500 or -32603 for arbitrary arguments to any side-effect-safe tool", async () => {
    const tools = fc.constantFrom(
      "task",
      "workflow",
      "workflow_query",
      "checkpoint",
      "decision",
      "transcript",
      "breakers",
      "health",
      "nope",
    );
    const args = fc.oneof(
      fc.anything(),
      fc.dictionary(
        fc.constantFrom("action", "query", "taskId", "key", "value", "label", "state", "id", "limit", "prompt", "repo"),
        fc.anything(),
      ),
    );
    await fc.assert(
      fc.asyncProperty(tools, args, async (name, a) => {
        const res = await rpc("tools/call", { name, arguments: a });
        expect(res.status).toBeLessThan(500);
        const body = (await res.json()) as {
          result?: { isError?: boolean; content: unknown[] };
          error?: { code: number };
        };
        if (body.error) expect(body.error.code).not.toBe(-32603);
        else expect(Array.isArray(body.result?.content)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("execute: generated invalid inputs are refused and create no task", async () => {
    const before = await taskCount();
    // waitSeconds 0 wherever it is not the field under test: an input that is valid by mistake then
    // fails the task-count check at once instead of waiting 20 s for a result.
    const prompt = fc.string({ minLength: 1, maxLength: 50 });
    const w0 = fc.constant(0);
    const invalid = fc.oneof(
      fc.record({ prompt: fc.constant(""), repo, waitSeconds: w0 }),
      fc.record({
        prompt,
        repo: fc.constantFrom("../x", "/etc", "a/b", "", ".hidden", "-rf", "a..b"),
        waitSeconds: w0,
      }),
      fc.record({
        prompt,
        repo,
        waitSeconds: fc.oneof(fc.integer({ min: 46 }), fc.integer({ max: -1 }), fc.double({ min: 0.1, max: 0.9 })),
      }),
      fc.record({
        prompt,
        repo,
        waitSeconds: w0,
        profile: fc
          .string()
          .filter(
            (p) => !["auto", "deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus"].includes(p),
          ),
      }),
      fc.record({
        prompt,
        repo,
        waitSeconds: w0,
        budgetUsd: fc.oneof(
          fc.constant(0),
          fc.double({ max: -0.01, noNaN: true }),
          fc.double({ min: 1000.01, max: 1e9, noNaN: true }),
        ),
      }),
      // undefined would vanish from the JSON and leave a valid input.
      fc.record({ prompt, repo, waitSeconds: w0, unknownField: fc.anything().filter((v) => v !== undefined) }),
      fc.record({ repo, waitSeconds: w0 }),
    );
    await fc.assert(
      fc.asyncProperty(invalid, async (a) => {
        const r = await call("execute", a);
        expect(r.isError).toBe(true);
      }),
      { numRuns: 60 },
    );
    expect(await taskCount()).toBe(before);
  });

  it("task: generated keys and values round-trip; generated bad keys are refused", async () => {
    await fc.assert(
      fc.asyncProperty(kvKey, fc.string({ maxLength: 2000 }), async (key, value) => {
        const put = await call("task", { action: "put", key, value });
        expect(put.isError, JSON.stringify(put.content)).toBeFalsy();
        const got = await call("task", { action: "get", key });
        expect(got.structuredContent).toEqual({ key, value });
      }),
      { numRuns: 40 },
    );
    const badKey = fc.oneof(
      fc.constant(""),
      fc.string({ minLength: 1, maxLength: 20 }).map((s) => ` ${s}`),
      fc.string().map((s) => `/${s}`),
      fc.string({ minLength: 257, maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(badKey, async (key) => {
        expect((await call("task", { action: "put", key, value: "v" })).isError).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("workflow init and checkpoint create: generated valid inputs are stored; invalid ones refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 300 }),
        repo,
        kind,
        fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null),
        async (prompt, r, k, state) => {
          const init = await call("workflow", { action: "init", prompt, repo: r, kind: k });
          expect(init.isError, JSON.stringify(init.content)).toBeFalsy();
          const taskId = String(init.structuredContent?.taskId);
          const cp = await call("checkpoint", { action: "create", taskId, label: "gen", state });
          expect(cp.isError, JSON.stringify(cp.content)).toBeFalsy();
        },
      ),
      { numRuns: 30 },
    );
    const before = await taskCount();
    const badInit = fc.oneof(
      fc.record({ action: fc.constant("init"), prompt: fc.constant(""), repo }),
      fc.record({
        action: fc.constant("init"),
        prompt: fc.string({ minLength: 1 }),
        repo,
        kind: fc.string().filter((s) => !/^[a-z0-9-]{1,40}$/.test(s)),
      }),
      fc.record({
        action: fc.constant("init"),
        prompt: fc.string({ minLength: 1 }),
        repo,
        verify: fc.constantFrom([], [""], "npm test"),
      }),
      fc.record({ action: fc.constant("spec"), taskId: fc.string(), spec: fc.string() }),
    );
    await fc.assert(
      fc.asyncProperty(badInit, async (a) => {
        expect((await call("workflow", a)).isError).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect(await taskCount()).toBe(before);
  });
});
