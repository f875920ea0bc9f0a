/**
 * End to end: the real Worker under wrangler dev, the real executor process, the real CLIs, driven
 * over HTTP with the MCP SDK client and REST. Failures are injected in the model API (scenarios),
 * the executor process (kill -9, down, wrong secret) and the clock (job timeout).
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MCP_TOOL_NAMES } from "../mcp-tool-names.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";

let e: E2E;
let client: Client;

beforeAll(async () => {
  // deepseek's API fails (500): the ladder must climb to gemini-flash.
  e = await startE2E({ deepseek: "500", opus: "hang" });
  client = await e.mcp();
}, 120_000);
afterAll(async () => {
  await client?.close();
  await e?.stop();
}, 60_000);

type Tool = { structuredContent?: Record<string, unknown>; isError?: boolean; content: { text?: string }[] };
const call = async (name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as Tool;

describe("end to end", () => {
  it("lists every tool over HTTP", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining([...MCP_TOOL_NAMES]));
  });

  it("as root the CLIs run sandboxed: the executor's /health names the agent identities", async () => {
    const health = (await (await fetch(`${e.stack.executorUrl}/health`)).json()) as { sandbox: { mode: string } };
    if (process.geteuid?.() !== 0) return expect(health.sandbox.mode).toBe("off");
    expect(health.sandbox).toMatchObject({ mode: "on", metadata: "blocked", executorPort: "token+firewall" });
    expect(e.stack.agentSandbox).toMatch(/^on: agents run as vault-e\d+-0, vault-e\d+-1$/);
  });

  it("execute (claude) → result Mermaid, and a stage row with cost, latency and tokens", async () => {
    const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 40 });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const taskId = String(r.structuredContent?.taskId);
    const state =
      r.structuredContent?.status === "running"
        ? await waitState(e, taskId)
        : (r.structuredContent as { status: string; result: string });
    expect(state.status).toBe("succeeded");
    expect(state.result).toContain("flowchart");
    const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
      stages: {
        cli: string;
        costUsd: number;
        tokensIn: number;
        tokensOut: number;
        latencyMs: number;
        status: string;
      }[];
    };
    expect(detail.stages).toHaveLength(1);
    expect(detail.stages[0]).toMatchObject({ cli: "claude", status: "succeeded", tokensIn: 1200, tokensOut: 34 });
    expect(detail.stages[0]?.costUsd).toBeGreaterThan(0);
    expect(detail.stages[0]?.latencyMs).toBeGreaterThan(0);
  });

  it("execute answers running when it cannot wait, then state returns the result", async () => {
    const r = await call("execute", {
      prompt: "Create hello.txt",
      repo: "demo",
      profile: "gemini-flash",
      waitSeconds: 0,
    });
    expect(r.structuredContent?.status).toBe("running");
    const taskId = String(r.structuredContent?.taskId);
    const s = await waitState(e, taskId);
    expect(s.status).toBe("succeeded");
    const q = await call("workflow_query", { query: "state", taskId });
    expect(q.structuredContent).toMatchObject({ status: "succeeded" });
  });

  it("lifecycle: init → spec → execute → write → close", async () => {
    const init = await call("workflow", {
      action: "init",
      prompt: "Create hello.txt",
      repo: "demo",
      profile: "sonnet",
    });
    const taskId = String(init.structuredContent?.taskId);
    expect(
      (await call("workflow", { action: "spec", taskId, spec: "hello.txt must contain hello" })).isError,
    ).toBeFalsy();
    const ex = await call("execute", { taskId, waitSeconds: 40 });
    const status =
      ex.structuredContent?.status === "running" ? (await waitState(e, taskId)).status : ex.structuredContent?.status;
    expect(status).toBe("succeeded");
    expect((await call("workflow", { action: "write", taskId, content: "Reviewed and merged" })).isError).toBeFalsy();
    expect((await call("workflow", { action: "close", taskId })).structuredContent).toMatchObject({ status: "closed" });
  });

  it("the ladder climbs past a failing API (deepseek 500 → gemini-flash)", async () => {
    // A kind no earlier test ran: the chooser starts it at the first rung (other kinds' runs would
    // let it start higher).
    const r = await call("execute", {
      prompt: "Create hello.txt",
      repo: "demo",
      profile: "auto",
      kind: "climb",
      waitSeconds: 40,
    });
    const taskId = String(r.structuredContent?.taskId);
    expect((await waitState(e, taskId)).status).toBe("succeeded");
    const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
      stages: { profile: string; status: string; errorKind: string | null }[];
    };
    expect(detail.stages.map((s) => [s.profile, s.status, s.errorKind])).toEqual([
      ["deepseek", "failed", "api"],
      ["gemini-flash", "succeeded", null],
    ]);
  });

  it("consensus (claude + codex) returns its diff Mermaid", async () => {
    const r = await call("execute", {
      prompt: "Create hello.txt",
      repo: "demo",
      profile: "consensus",
      waitSeconds: 40,
    });
    const taskId = String(r.structuredContent?.taskId);
    await waitState(e, taskId);
    const c = await call("workflow_query", { query: "consensus", taskId });
    expect(c.isError, JSON.stringify(c.content)).toBeFalsy();
    const report = c.structuredContent?.report as { verdict: string; profiles: string[]; mermaid: string };
    expect(report.profiles).toEqual(["sonnet", "codex"]);
    expect(["agree", "partial", "disagree"]).toContain(report.verdict);
    expect(report.mermaid).toContain("flowchart");
  });

  it("a CLI that hangs is killed at the job timeout: timeout stage, its unknown spend counted at the cap halts the task", async () => {
    const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "opus", waitSeconds: 0 });
    const taskId = String(r.structuredContent?.taskId);
    const s = await waitState(e, taskId, 90_000);
    const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
      stages: { profile: string; status: string; errorKind: string | null; costUsd: number }[];
    };
    // The hanging CLI logged no usage: what it spent is unknown, so it counts at what the job could
    // spend (the task's whole $5 cap), never as $0, and the cap then halts the task.
    expect(detail.stages[0]).toMatchObject({ profile: "opus", status: "timeout", errorKind: "timeout", costUsd: 5 });
    expect(s.status).toBe("halted");
  }, 120_000);

  it("executor killed mid-job (SIGKILL) and restarted: the same profile runs again, the task succeeds, no climb", async () => {
    const before = e.mock.requests().length;
    const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 0 });
    const taskId = String(r.structuredContent?.taskId);
    // Wait for the first model request of this task's CLI, then kill the executor under it.
    const deadline = Date.now() + 20_000;
    while (e.mock.requests().length === before && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 10));
    await e.stack.restartExecutor("SIGKILL");
    const s = await waitState(e, taskId, 90_000);
    expect(s.status, s.error).toBe("succeeded");
    const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
      stages: { attempt: number; profile: string; status: string; jobId: string }[];
    };
    // One stage per real run: the interrupted one, then the same profile again under a new job key.
    expect(detail.stages.map((st) => [st.attempt, st.profile, st.status])).toEqual([
      [1, "sonnet", "interrupted"],
      [2, "sonnet", "succeeded"],
    ]);
    expect(new Set(detail.stages.map((st) => st.jobId)).size).toBe(2);
  }, 120_000);

  it("executor down at dispatch: the step retries, and the task completes once it is back", async () => {
    await e.stack.stopExecutor("SIGTERM");
    const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 0 });
    const taskId = String(r.structuredContent?.taskId);
    await new Promise((res) => setTimeout(res, 3_000));
    expect((await waitState(e, taskId, 1)).status).toBe("running");
    await e.stack.restartExecutor("SIGTERM");
    const s = await waitState(e, taskId, 90_000);
    expect(s.status).toBe("succeeded");
    const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as { stages: { status: string }[] };
    expect(detail.stages).toEqual([expect.objectContaining({ status: "succeeded" })]);
  }, 120_000);

  it("a wrong executor secret is an auth failure, not retried", async () => {
    await e.stack.restartExecutor("SIGTERM", { EXECUTOR_SECRET: "a-different-secret-0123456789" });
    try {
      const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 40 });
      const taskId = String(r.structuredContent?.taskId);
      const s = await waitState(e, taskId);
      expect(s.status).toBe("failed");
      expect(s.error).toMatch(/HTTP 401/);
      const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
        stages: { status: string; errorKind: string }[];
      };
      expect(detail.stages).toEqual([expect.objectContaining({ status: "error", errorKind: "auth" })]);
    } finally {
      await e.stack.restartExecutor("SIGTERM");
    }
  }, 120_000);

  it("task breakers: $2 spent warns on the result; $5 halts with no dispatch until the cap is raised, then it resumes", async () => {
    const init = async () =>
      String(
        (await call("workflow", { action: "init", prompt: "Create hello.txt", repo: "demo", profile: "sonnet" }))
          .structuredContent?.taskId,
      );
    const warned = await init();
    e.d1(`UPDATE tasks SET cost_usd = 2 WHERE id = '${warned}'`);
    const w = await call("execute", { taskId: warned, waitSeconds: 40 });
    const ws =
      w.structuredContent?.status === "running"
        ? await waitState(e, warned)
        : (w.structuredContent as { status: string; flags: string[] });
    expect(ws.status).toBe("succeeded");
    expect(ws.flags).toContain("task_warn");

    const halted = await init();
    e.d1(`UPDATE tasks SET cost_usd = 5 WHERE id = '${halted}'`);
    const before = e.mock.requests().length;
    await call("execute", { taskId: halted, waitSeconds: 0 });
    expect((await waitState(e, halted)).status).toBe("halted");
    expect(e.mock.requests().length).toBe(before);
    const raise = await e.api(`/api/tasks/${halted}/budget`, {
      method: "POST",
      body: JSON.stringify({ capUsd: 10, actor: "e2e" }),
    });
    expect(raise.status).toBe(202);
    // The instance takes the event asynchronously: wait until the task has left `halted`.
    let resumed = await waitState(e, halted, 60_000);
    for (const deadline = Date.now() + 30_000; resumed.status === "halted" && Date.now() < deadline; ) {
      await new Promise((res) => setTimeout(res, 200));
      resumed = await waitState(e, halted, 60_000);
    }
    expect(resumed.status).toBe("succeeded");
    expect(resumed.flags).toContain("task_warn");
  }, 120_000);

  it("the daily breaker blocks new tasks with a clear refusal and no dispatch", async () => {
    const day = new Date().toISOString().slice(0, 10);
    e.d1(
      `INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES ('day:${day}', 20, 1, 'ok', 0) ON CONFLICT(scope) DO UPDATE SET spent_usd = 20`,
    );
    const before = e.mock.requests().length;
    const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 5 });
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toMatch(/daily block/);
    expect(e.mock.requests().length).toBe(before);
    const health = (await (await fetch(`${e.stack.workerUrl}/health`)).json()) as { breakers: { blocked: boolean } };
    expect(health.breakers.blocked).toBe(true);
    e.d1(`UPDATE circuit_breaker SET spent_usd = 0 WHERE scope = 'day:${day}'`);
  });
});

describe("end to end: the call shape and what reaches the agent", () => {
  const stagesOf = async (taskId: string) =>
    (
      (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
        stages: { profile: string; cli: string; status: string }[];
      }
    ).stages;

  for (const [executor, profile, cli] of [
    ["codex", "codex", "codex"],
    ["gemini", "gemini-flash", "gemini"],
    ["consensus", "consensus", "claude"],
  ] as const) {
    it(`execute {executor: "${executor}"} runs ${profile} once, its CLI in the stage row`, async () => {
      const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", executor, waitSeconds: 40 });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      const taskId = String(r.structuredContent?.taskId);
      expect((await waitState(e, taskId, 90_000)).status).toBe("succeeded");
      expect(await stagesOf(taskId)).toEqual([expect.objectContaining({ profile, cli, status: "succeeded" })]);
    }, 120_000);
  }

  it("an unknown argument is a clear error on MCP and REST, never dropped", async () => {
    const before = e.mock.requests().length;
    const m = await call("execute", { prompt: "Create hello.txt", repo: "demo", runner: "claude" });
    expect(m.isError).toBe(true);
    expect(m.content[0]?.text).toMatch(/runner/);
    const rest = await e.api("/api/execute", {
      method: "POST",
      body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", runner: "claude" }),
    });
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as { error: { message: string } }).error.message).toMatch(/runner/);
    expect(e.mock.requests().length).toBe(before);
  });

  it("the spec and the prompt reach the model; the stage records which prompt version ran", async () => {
    const init = await call("workflow", {
      action: "init",
      prompt: "Create hello.txt",
      repo: "demo",
      profile: "sonnet",
    });
    const taskId = String(init.structuredContent?.taskId);
    await call("workflow", { action: "spec", taskId, spec: "The greeting must be in Portuguese: olá." });
    const before = e.mock.requests().length;
    await call("execute", { taskId, waitSeconds: 40 });
    expect((await waitState(e, taskId)).status).toBe("succeeded");
    const texts = e.mock
      .requests()
      .slice(before)
      .map((q) => q.userText);
    expect(
      texts.some((t) => t.includes("Create hello.txt") && t.includes("The greeting must be in Portuguese: olá.")),
    ).toBe(true);
    const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as { stages: { promptVersion: string }[] };
    expect(detail.stages[0]?.promptVersion).toMatch(/^[0-9a-f]{16}$/);
  }, 120_000);

  it("a 300 KB prompt is accepted end to end and reaches the CLI", async () => {
    // 100,000 characters of 3-byte UTF-8: the longest prompt the contract takes, ~300 KB on the wire.
    const prompt = `Create hello.txt. ${"€".repeat(100_000 - 18)}`;
    const before = e.mock.requests().length;
    const r = await e.api("/api/execute", {
      method: "POST",
      body: JSON.stringify({ prompt, repo: "demo", profile: "sonnet", waitSeconds: 0 }),
    });
    expect(r.status, await r.clone().text()).toBe(200);
    const { taskId } = (await r.json()) as { taskId: string };
    const s = await waitState(e, taskId, 90_000);
    expect(s.status, s.error).toBe("succeeded");
    expect(
      e.mock
        .requests()
        .slice(before)
        .some((q) => q.userText.includes("€".repeat(3000))),
    ).toBe(true);
  }, 120_000);

  it("the same idempotencyKey twice starts one task", async () => {
    const body = JSON.stringify({
      prompt: "Create hello.txt",
      repo: "demo",
      profile: "sonnet",
      idempotencyKey: "e2e-key-1",
      waitSeconds: 0,
    });
    const a = (await (await e.api("/api/execute", { method: "POST", body })).json()) as { taskId: string };
    const b = (await (await e.api("/api/execute", { method: "POST", body })).json()) as { taskId: string };
    expect(b.taskId).toBe(a.taskId);
    await waitState(e, a.taskId);
  });

  it("a failed task's instance reads errored in `wrangler workflows instances describe`, with the task's message", async () => {
    const r = await call("execute", {
      prompt: "Create hello.txt",
      repo: "no-such-repo",
      profile: "sonnet",
      waitSeconds: 40,
    });
    const taskId = String(r.structuredContent?.taskId);
    const s = await waitState(e, taskId);
    expect(s.status).toBe("failed");
    expect(s.error).toMatch(/demo/); // the refusal lists the repos the executor has
    const out = e.wrangler(["workflows", "instances", "describe", "execute-workflow", taskId, "--json"]);
    const described = JSON.parse(out) as { status: string; error?: { message?: string } };
    expect(described.status.toLowerCase()).toBe("errored");
    expect(JSON.stringify(described)).toContain("failed: attempt 1 (sonnet) could not run");
  }, 120_000);
});
