import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { tasks } from "../../schema/index.ts";
import { setHealthFetch } from "../../worker/services/health.ts";
import { createTask } from "../../worker/services/tasks.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { sortedToolNames } from "../mcp-tool-names.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { connect, textOf } from "./mcp-client.ts";
import { pollingExecutor } from "./polling-executor.ts";

let client: Client;
beforeAll(async () => {
  client = await connect();
});
afterEach(() => {
  setExecutorFetch(null);
  setHealthFetch(null);
});

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text?: string }[] };
const call = async (name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as ToolResult;

describe("MCP tools", () => {
  it("lists every tool with a title, a description and annotations", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(sortedToolNames());
    for (const t of tools) {
      expect(t.title, t.name).toBeTruthy();
      expect((t.description ?? "").length, t.name).toBeGreaterThan(60);
      expect(t.annotations?.readOnlyHint, t.name).toBeTypeOf("boolean");
      expect(t.inputSchema.type).toBe("object");
    }
    for (const t of tools) {
      for (const hint of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] as const)
        expect(t.annotations?.[hint], `${t.name}.${hint}`).toBeTypeOf("boolean");
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get("workflow_query")?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get("health")?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get("task")?.annotations?.destructiveHint).toBe(true);
    expect(byName.get("execute")?.annotations).toMatchObject({
      readOnlyHint: false,
      idempotentHint: false,
      openWorldHint: true,
    });
    for (const name of ["execute", "health", "replay"])
      expect(byName.get(name)?.outputSchema?.type, name).toBe("object");
    // Every advertised field of every tool carries a description or is self-explanatory by enum.
    const execProps = byName.get("execute")?.inputSchema.properties as Record<string, { description?: string }>;
    for (const [field, schema] of Object.entries(execProps))
      expect(schema.description, `execute.${field}`).toBeTruthy();
  });

  it("rejects an unauthenticated client", async () => {
    await expect(connect("wrong")).rejects.toThrow(/401|unauthorized/i);
  });

  it("execute: runs a task and returns the Mermaid result; bad input is refused", async () => {
    const fake = new FakeExecutor(() => ({ costUsd: 0.03 }));
    setExecutorFetch(fake.fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 10 });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: "succeeded", costUsd: 0.03 });
    expect(textOf(r)).toContain("flowchart");
    const bad = await call("execute", { prompt: "", repo: "../etc" });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/prompt|repo/);
  });

  it("execute sends progress notifications while it waits, and runs an init'ed task by id alone", async () => {
    await using _intro = await pollingExecutor();
    const init = await call("workflow", {
      action: "init",
      prompt: "Create hello.txt",
      repo: "demo",
      profile: "sonnet",
    });
    const taskId = String(init.structuredContent?.taskId);
    const progress: unknown[] = [];
    const r = (await client.callTool({ name: "execute", arguments: { taskId, waitSeconds: 10 } }, undefined, {
      onprogress: (p) => progress.push(p),
    })) as ToolResult;
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ taskId, status: "succeeded" });
    expect(progress.length).toBeGreaterThan(0);
    // Each missing field is named on its own.
    expect(textOf(await call("execute", { waitSeconds: 0 }))).toMatch(/prompt: required.*repo: required/);
  });

  it("workflow: init → spec → write → close, and refuses to close an unfinished task", async () => {
    const init = await call("workflow", { action: "init", prompt: "Refactor auth", repo: "demo", kind: "refactor" });
    const taskId = String(init.structuredContent?.taskId);
    expect(taskId).toMatch(/^t-\d{8}-\d{4}-[a-z0-9]{6}$/);
    expect((await call("workflow", { action: "spec", taskId, spec: "Use JWT" })).isError).toBeFalsy();
    expect((await call("workflow", { action: "write", taskId, content: "Reviewed: fine" })).isError).toBeFalsy();
    const early = await call("workflow", { action: "close", taskId });
    expect(early.isError).toBe(true);
    expect(textOf(early)).toContain("conflict");
    await env.DB.prepare("UPDATE tasks SET status = 'succeeded' WHERE id = ?1").bind(taskId).run();
    const closed = await call("workflow", { action: "close", taskId, note: "merged" });
    expect(closed.structuredContent).toMatchObject({ status: "closed" });
    const bad = await call("workflow", { action: "spec", taskId: "nope", spec: "x" });
    expect(bad.isError).toBe(true);
    const decideWrong = await call("workflow", { action: "decide", taskId, human: { decision: "approve" } });
    expect(textOf(decideWrong)).toContain("needs_human");
  });

  it("workflow_query: state, summary, stats and chooser; unknown task is not_found", async () => {
    const init = await call("workflow", { action: "init", prompt: "x", repo: "demo" });
    const taskId = String(init.structuredContent?.taskId);
    expect((await call("workflow_query", { query: "state", taskId })).structuredContent).toMatchObject({
      status: "init",
    });
    expect(textOf(await call("workflow_query", { query: "summary", taskId }))).toContain(taskId);
    expect((await call("workflow_query", { query: "stats" })).isError).toBeFalsy();
    const chooser = await call("workflow_query", { query: "chooser", kind: "Bug fix" });
    expect(chooser.structuredContent).toMatchObject({ kind: "bug-fix", bestKnown: "deepseek", basis: "cold" });
    expect(textOf(chooser)).toMatch(/^chose deepseek for kind bug-fix: no runs of this kind yet/);
    const missing = await call("workflow_query", { query: "state", taskId: "t-20200101-0000-aaaaaa" });
    expect(textOf(missing)).toContain("not_found");
    expect((await call("workflow_query", { query: "consensus", taskId })).isError).toBe(true);
    expect((await call("workflow_query", { query: "nope" })).isError).toBe(true);
  });

  it("task: put, get, list, delete; bad keys refused", async () => {
    expect((await call("task", { action: "put", key: "plan/a", value: "step 1" })).isError).toBeFalsy();
    expect(textOf(await call("task", { action: "get", key: "plan/a" }))).toBe("step 1");
    expect((await call("task", { action: "list", prefix: "plan/" })).structuredContent).toMatchObject({
      keys: ["plan/a"],
    });
    expect((await call("task", { action: "delete", key: "plan/a" })).isError).toBeFalsy();
    expect(textOf(await call("task", { action: "get", key: "plan/a" }))).toContain("not_found");
    expect((await call("task", { action: "put", key: "../x", value: "v" })).isError).toBe(true);
    expect((await call("task", { action: "put", key: "big", value: "x".repeat(129 * 1024) })).isError).toBe(true);
  });

  it("checkpoint, decision, transcript: create, list, get; bad input writes nothing", async () => {
    const init = await call("workflow", { action: "init", prompt: "x", repo: "demo" });
    const taskId = String(init.structuredContent?.taskId);
    const cp = await call("checkpoint", { action: "create", taskId, label: "after-tests", state: { step: 3 } });
    expect(cp.isError).toBeFalsy();
    expect(textOf(await call("checkpoint", { action: "get", id: String(cp.structuredContent?.id) }))).toContain(
      "after-tests",
    );
    expect(
      (await call("decision", { action: "create", taskId, decision: "use zod", rationale: "one schema" })).isError,
    ).toBeFalsy();
    expect(((await call("decision", { action: "list", taskId })).structuredContent?.items as unknown[]).length).toBe(1);
    const tr = await call("transcript", { action: "create", taskId, content: "notes" });
    expect(tr.isError).toBeFalsy();
    expect(((await call("transcript", { action: "list", taskId })).structuredContent?.items as unknown[]).length).toBe(
      1,
    );
    const orphan = await call("checkpoint", {
      action: "create",
      taskId: "t-20200101-0000-aaaaaa",
      label: "x",
      state: {},
    });
    expect(textOf(orphan)).toContain("not_found");
    expect((await call("decision", { action: "create" })).isError).toBe(true);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM checkpoints WHERE task_id = 't-20200101-0000-aaaaaa'",
    ).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("breakers: state, thresholds; ack refused when nothing is flagged; raise refused on a running task", async () => {
    expect((await call("breakers", { action: "state" })).structuredContent).toMatchObject({
      blocked: false,
      flagged: false,
    });
    expect((await call("breakers", { action: "thresholds" })).structuredContent).toMatchObject({
      taskWarnUsd: 2,
      taskHaltUsd: 5,
      dayBlockUsd: 20,
      monthFlagUsd: 80,
    });
    expect(textOf(await call("breakers", { action: "ack" }))).toContain("conflict");
    const month = `month:${new Date().toISOString().slice(0, 7)}`;
    await env.DB.prepare(
      "INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES (?1, 80, 1, 'ok', 0) ON CONFLICT(scope) DO UPDATE SET spent_usd = 80",
    )
      .bind(month)
      .run();
    expect((await call("breakers", { action: "ack", note: "expected spend" })).isError).toBeFalsy();
    expect((await call("breakers", { action: "state" })).structuredContent).toMatchObject({ flagged: false });
    expect((await call("breakers", { action: "raise", taskId: "t-20200101-0000-aaaaaa", capUsd: 10 })).isError).toBe(
      true,
    );
  });

  it("replay: dry run lists a failed task; real run starts one linked replay once", async () => {
    const fake = new FakeExecutor(() => ({}));
    setExecutorFetch(fake.fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const init = await call("workflow", { action: "init", prompt: "x", repo: "demo", profile: "sonnet" });
    const taskId = String(init.structuredContent?.taskId);
    await env.DB.prepare("UPDATE tasks SET status = 'failed' WHERE id = ?1").bind(taskId).run();
    const dry = await call("replay", { taskId, dryRun: true });
    expect(dry.structuredContent).toMatchObject({
      dryRun: true,
      started: 0,
      items: [{ originalId: taskId, status: "would_start" }],
    });
    const real = await call("replay", { taskId });
    expect(real.structuredContent).toMatchObject({ started: 1 });
    // Let the replay finish on the fake executor before afterEach swaps it out.
    const replayId = String((real.structuredContent?.items as { newTaskId: string }[])[0]?.newTaskId);
    for (
      let i = 0;
      i < 200 &&
      (await call("workflow_query", { query: "state", taskId: replayId })).structuredContent?.status === "running";
      i++
    )
      await new Promise((r) => setTimeout(r, 25));
    expect((await call("workflow_query", { query: "state", taskId: replayId })).structuredContent).toMatchObject({
      status: "succeeded",
    });
    const again = await call("replay", { taskId });
    expect(again.structuredContent).toMatchObject({ started: 0, skipped: 1 });
    const linked = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE replay_of = ?1")
      .bind(taskId)
      .first<{ n: number }>();
    expect(linked?.n).toBe(1);
    const recorded = await env.DB.prepare("SELECT count(*) AS n FROM decisions WHERE task_id = ?1 AND kind = 'replay'")
      .bind(taskId)
      .first<{ n: number }>();
    expect(recorded?.n).toBe(1);
    expect((await call("replay", {})).isError).toBe(true);
  });

  it("health: reports D1 and breakers", async () => {
    setHealthFetch(() => Promise.reject(new Error("down")));
    const h = await call("health", {});
    expect(h.isError).toBeFalsy();
    expect(h.structuredContent).toMatchObject({
      status: "degraded",
      d1: { reachable: true },
      executor: { reachable: false },
      breakers: { blocked: false },
      reasons: [expect.stringContaining("the executor at http://127.0.0.1:28788 is unreachable")],
    });
    expect(textOf(h)).toMatch(
      /^degraded \(the executor at .* is unreachable: check EXECUTOR_URL and the VM\): d1 up, executor down/,
    );
    const extra = await call("health", { verbose: true });
    expect(extra.isError).toBe(true);
    expect(textOf(extra)).toContain("verbose");
  });

  it("no control sequence, bidi control, Mermaid directive or click statement of an agent reaches the client", async () => {
    const ESC = "\x1b";
    const hostile = `${ESC}]0;stolen-title\x07${ESC}[2J${ESC}[?1049h\u202eevil\u202c\n%%{init: {'securityLevel':'loose'}}%%\nclick P href "javascript:alert(1)"\n<script>alert(1)</script>`;
    const task = await createTask(
      env.DB,
      { prompt: "p", repo: "demo", verbosity: "full", kind: "general" },
      Date.now(),
    );
    await drizzle(env.DB)
      .update(tasks)
      .set({
        status: "failed",
        result: `flowchart LR\n  P["sonnet"] --> O{"failed"}\n\nanswer: ${hostile}`,
        error: `API Error: ${hostile}`,
      })
      .where(eq(tasks.id, task.id));
    const put = await call("task", { action: "put", key: "hostile", value: hostile });
    expect(put.isError).toBeFalsy();
    for (const r of [
      await call("workflow_query", { query: "state", taskId: task.id }),
      await call("task", { action: "get", key: "hostile" }),
      await call("workflow_query", { query: "summary", taskId: "t-20261124-1100-zzzzzz" }),
    ]) {
      const text = textOf(r);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
      expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
      expect(text).not.toContain("stolen-title");
    }
    const state = await call("workflow_query", { query: "state", taskId: task.id });
    const structured = state.structuredContent as { result: string; error: string };
    for (const text of [textOf(state), structured.result, structured.error]) {
      expect(text).not.toContain("%%");
      expect(text).not.toMatch(/(^|[\n;])\s*click\s/);
      expect(text).not.toContain(ESC);
    }
    expect(textOf(state)).toContain('(click) P href "javascript:alert(1)"');
  });
});
