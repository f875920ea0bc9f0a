/**
 * Every MCP tool's input under generated arguments, through one real MCP SDK client and the real
 * server (reliability checklist item 10): at least RUNS cases per tool, none answered with HTTP ≥ 500,
 * JSON-RPC internal error (-32603) or an `internal:` tool error; valid arguments accepted (or refused
 * for the rows they name: not_found naming the row, conflict, breaker_open while today's block is
 * on); broken ones a tool error naming the broken field, with no row written. A few valid `execute`
 * calls then run for real on the fake executor.
 */

import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { escapeControls } from "@vault-mcp/contract";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setHealthFetch } from "../../worker/services/health.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { connect, rpc, textOf } from "./mcp-client.ts";
import {
  badTaskId,
  breakerAck,
  breakerRaise,
  type Case,
  cases,
  checkpointCreate,
  decisionCreate,
  executeInput,
  type Fixtures,
  humanEvent,
  type Input,
  type InputSpec,
  kvKey,
  kvList,
  kvPut,
  listQuery,
  makeFixtures,
  namedValues,
  notString,
  recordGet,
  replayInput,
  repoInput,
  repoNameInput,
  rowCounts,
  runSchema,
  type Tally,
  taskClose,
  taskDeliver,
  taskDiff,
  taskInit,
  taskRef,
  taskSpec,
  text,
  transcriptCreate,
  unknownKey,
  usd,
  writeUp,
} from "./property-inputs.ts";

/** Cases per tool. */
const RUNS = 1000;

let client: Client;
let fx: Fixtures;
beforeAll(async () => {
  client = await connect();
  fx = await makeFixtures();
  // `health` is among the tools: keep its probe off the network (and off a running local stack).
  setHealthFetch(() => Promise.reject(new Error("no executor in this test")));
});
afterAll(async () => {
  setHealthFetch(null);
  await client.close();
});

const nothing = (): InputSpec => ({ valid: fc.constant({}), bad: {} });

/** A tool with actions: each action's cases carry its name; a bad action names the discriminator. */
function actions(key: string, specs: Record<string, () => InputSpec>): fc.Arbitrary<Case> {
  const named = Object.entries(specs).map(([name, spec]) =>
    cases(spec()).map((c): Case => (c.kind === "junk" ? c : { ...c, input: { ...c.input, [key]: name } })),
  );
  const badAction = fc
    .tuple(fc.oneof(fc.constantFrom("", "explode", "GET", "init "), notString), fc.dictionary(unknownKey, fc.integer()))
    .map(([action, rest]): Case => ({ kind: "bad", field: key, input: { ...rest, [key]: action } }));
  return fc.oneof(...named, badAction);
}

const decide = (): InputSpec => {
  const human = humanEvent();
  const budget = fc.record({ capUsd: usd, actor: text(0, 100), note: text(0, 2000) }, { requiredKeys: ["capUsd"] });
  return {
    valid: fc.oneof(fc.record({ taskId: taskRef(fx), human: human.valid }), fc.record({ taskId: taskRef(fx), budget })),
    bad: {
      taskId: badTaskId,
      human: fc.oneof(fc.constant({ decision: "maybe" }), fc.constant({}), notString),
      budget: fc.oneof(fc.constant({ capUsd: 0 }), fc.constant({}), notString),
    },
    required: ["taskId"],
  };
};

const queryOf = (): Record<string, () => InputSpec> => {
  const task = (): InputSpec => ({
    valid: fc.record({ taskId: taskRef(fx) }),
    bad: { taskId: badTaskId },
    required: ["taskId"],
  });
  const kind = (): InputSpec => ({
    valid: fc.record({ kind: text(0, 200) }, { requiredKeys: [] }),
    bad: { kind: fc.oneof(fc.constant("x".repeat(201)), notString) },
  });
  return { state: task, summary: task, consensus: task, diff: () => taskDiff(fx), stats: kind, chooser: kind };
};

/** An executor id the contract takes (never `default`: that is EXECUTOR_URL, not a pool member). */
const executorTarget = (): InputSpec => ({
  valid: fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/).filter((id) => id !== "default"),
  }),
  bad: { id: fc.oneof(fc.constantFrom("", "-a", "../x", "a b", "x".repeat(64)), notString) },
  required: ["id"],
});

const kvGet = (): InputSpec => ({
  valid: fc.record({ key: fc.oneof(fc.constant(fx.kvKey), kvKey) }),
  bad: { key: fc.constantFrom("", " a", "/a", "x".repeat(257)) },
  required: ["key"],
});

const recordTool = (create: (fx: Fixtures) => InputSpec, existing: () => string) =>
  actions("action", {
    create: () => create(fx),
    list: () => listQuery(fx),
    get: () => recordGet(existing()),
  });

interface Tool {
  name: string;
  cases: () => fc.Arbitrary<Case>;
  /** Tool-error codes a valid input may get (not_found must name the row). */
  refusals: readonly string[];
  blocked?: true;
}

const TOOLS: Tool[] = [
  { name: "execute", cases: () => cases(executeInput(fx)), refusals: ["breaker_open"], blocked: true },
  {
    name: "workflow",
    cases: () =>
      actions("action", {
        init: taskInit,
        spec: () => taskSpec(fx),
        write: () => writeUp(fx),
        close: () => taskClose(fx),
        deliver: () => taskDeliver(fx),
        decide,
      }),
    refusals: ["not_found", "conflict"],
  },
  // A diff of a task without a change is a conflict (no fixture task has one).
  { name: "workflow_query", cases: () => actions("query", queryOf()), refusals: ["not_found", "conflict"] },
  {
    name: "repos",
    cases: () => actions("action", { list: nothing, add: repoInput, remove: repoNameInput }),
    refusals: [],
  },
  {
    name: "task",
    cases: () => actions("action", { get: kvGet, delete: kvGet, put: () => kvPut(fx), list: kvList }),
    refusals: ["not_found"],
  },
  { name: "checkpoint", cases: () => recordTool(checkpointCreate, () => fx.checkpoint), refusals: ["not_found"] },
  { name: "decision", cases: () => recordTool(decisionCreate, () => fx.decision), refusals: ["not_found"] },
  { name: "transcript", cases: () => recordTool(transcriptCreate, () => fx.transcript), refusals: ["not_found"] },
  {
    name: "breakers",
    cases: () =>
      actions("action", { state: nothing, thresholds: nothing, ack: breakerAck, raise: () => breakerRaise(fx) }),
    refusals: ["not_found", "conflict"],
  },
  { name: "replay", cases: () => cases(replayInput(fx)), refusals: ["not_found"], blocked: true },
  { name: "health", cases: () => cases(nothing()), refusals: [] },
  {
    name: "executors",
    cases: () => actions("action", { list: nothing, drain: executorTarget, resume: executorTarget }),
    // An id of the right shape names no executor here.
    refusals: ["not_found"],
  },
];

type Outcome = { http: number; rpcError?: number; isError: boolean; text: string };

/** Objects go through the SDK client (as a model's arguments would); anything else as raw JSON-RPC. */
async function callTool(name: string, args: unknown): Promise<Outcome> {
  if (typeof args === "object" && args !== null && !Array.isArray(args)) {
    try {
      const r = await client.callTool({ name, arguments: args as Input });
      return { http: 200, isError: r.isError === true, text: textOf(r) };
    } catch (err) {
      if (err instanceof McpError) return { http: 200, rpcError: err.code, isError: true, text: err.message };
      throw err;
    }
  }
  const res = await rpc("tools/call", { name, arguments: args });
  const body = (await res.json().catch(() => ({}))) as {
    result?: { isError?: boolean; content?: { text?: string }[] };
    error?: { code: number; message: string };
  };
  return {
    http: res.status,
    ...(body.error ? { rpcError: body.error.code } : {}),
    isError: body.error !== undefined || body.result?.isError === true,
    text: body.error?.message ?? textOf(body.result ?? {}),
  };
}

async function exercise(tool: Tool): Promise<Tally> {
  const tally = { valid: 0, bad: 0, junk: 0 };
  await fc.assert(
    fc.asyncProperty(tool.cases(), async (c) => {
      tally[c.kind] += 1;
      const before = c.kind === "valid" ? null : await rowCounts();
      const out = await callTool(tool.name, c.input);
      const where = `${tool.name} ${JSON.stringify(c).slice(0, 400)} → ${JSON.stringify(out).slice(0, 400)}`;
      expect(out.http, where).toBeLessThan(500);
      expect(out.rpcError, where).not.toBe(-32603);
      expect(out.isError && out.text.startsWith("internal:"), where).toBe(false);
      if (c.kind === "valid") {
        if (!out.isError) return;
        const code = out.text.split(":")[0] ?? "";
        expect(tool.refusals, where).toContain(code);
        if (code === "not_found")
          expect(
            // Control characters in a name are written out (`\u0000`): the text still names it.
            namedValues(c.input).some((v) => v && out.text.includes(escapeControls(v))),
            where,
          ).toBe(true);
        return;
      }
      if (c.kind === "bad") {
        expect(out.isError, where).toBe(true);
        expect(out.text, where).toContain(c.field);
      }
      if (out.isError) expect(await rowCounts(), where).toEqual(before);
    }),
    { numRuns: RUNS },
  );
  return tally;
}

describe("MCP tools under generated inputs", () => {
  it("covers every tool the server lists", async () => {
    const { tools } = await client.listTools();
    expect(TOOLS.map((t) => t.name).sort()).toEqual(tools.map((t) => t.name).sort());
  });

  for (const tool of TOOLS) {
    it(`${tool.name}: ${RUNS} cases, 0 internal errors; valid accepted, broken fields named`, {
      timeout: 90_000,
    }, async () => {
      await runSchema(RUNS, tool.blocked === true, () => exercise(tool));
    });
  }

  it("execute: generated valid new tasks run for real and end as the fake executor answers", {
    timeout: 60_000,
  }, async () => {
    setExecutorFetch(new FakeExecutor(() => ({ costUsd: 0.01 })).fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const started: { taskId: string; input: Input }[] = [];
    try {
      // A cap of at least $1 so the fake's $0.01 runs never halt (a halt would wait for a raise).
      const valid = taskInit().valid.map((i) => ({
        ...i,
        ...(typeof i.budgetUsd === "number" ? { budgetUsd: Math.max(i.budgetUsd, 1) } : {}),
        waitSeconds: 0,
      }));
      await fc.assert(
        fc.asyncProperty(valid, async (input) => {
          const r = await client.callTool({ name: "execute", arguments: input });
          expect(r.isError, textOf(r)).toBeFalsy();
          const out = r.structuredContent as { taskId: string; status: string };
          expect(["running", "succeeded"]).toContain(out.status);
          started.push({ taskId: out.taskId, input });
        }),
        { numRuns: 20 },
      );
      for (const { taskId, input } of started) {
        let status = "running";
        for (let i = 0; i < 400 && (status === "running" || status === "init"); i++) {
          const row = await env.DB.prepare("SELECT status, prompt, repo FROM tasks WHERE id = ?1")
            .bind(taskId)
            .first<{ status: string; prompt: string; repo: string }>();
          expect(row).toMatchObject({ prompt: input.prompt, repo: input.repo });
          status = row?.status ?? "missing";
          if (status === "running" || status === "init") await new Promise((r) => setTimeout(r, 25));
        }
        expect(status, `${taskId} ${JSON.stringify(input).slice(0, 200)}`).toBe("succeeded");
      }
    } finally {
      setExecutorFetch(null);
    }
  });

  it("task: generated keys and values round-trip", { timeout: 30_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(kvKey, text(0, 2000), async (key, value) => {
        const put = await client.callTool({ name: "task", arguments: { action: "put", key, value } });
        expect(put.isError, textOf(put)).toBeFalsy();
        const got = await client.callTool({ name: "task", arguments: { action: "get", key } });
        expect(got.structuredContent).toEqual({ key, value });
      }),
      { numRuns: 100 },
    );
  });
});
