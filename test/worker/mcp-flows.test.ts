/**
 * Multi-step flows through the real MCP SDK client: a run that answers `running`, a halted task
 * resumed by `breakers raise`, a needs_human task answered by `workflow decide`, write-ups, bulk and
 * forced replays. Only the executor is faked (format-faithful, test/workflows/fake-executor.ts).
 */
import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor, type Scenario } from "../workflows/fake-executor.ts";
import { connect, TOKEN, textOf } from "./mcp-client.ts";

let client: Client;
beforeAll(async () => {
  client = await connect();
});
afterEach(async () => {
  setExecutorFetch(null);
  // Failures feed the ladder's cooldowns; each test starts from clean statistics and spend.
  await env.DB.exec("DELETE FROM circuit_breaker; DELETE FROM model_stats;");
});

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text?: string }[] };
const call = async (name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as ToolResult;

/** Every request the Worker sends to the executor, with its headers and body, for leak checks. */
function useExecutor(scenario: (profile: string, attempt: number) => Scenario): { fake: FakeExecutor; sent: string[] } {
  const fake = new FakeExecutor(scenario);
  const sent: string[] = [];
  setExecutorFetch(async (input, init) => {
    sent.push(
      `${input} ${JSON.stringify([...new Headers(init?.headers).entries()])} ${typeof init?.body === "string" ? init.body : ""}`,
    );
    return fake.fetch(input, init);
  });
  return { fake, sent };
}

async function stateOf(taskId: string): Promise<Record<string, unknown>> {
  const r = await call("workflow_query", { query: "state", taskId });
  expect(r.isError, textOf(r)).toBeFalsy();
  return r.structuredContent ?? {};
}

/** Polls `workflow_query state` (the path a model takes after `running`) until the task reaches one of `statuses`. */
async function waitForStatus(taskId: string, statuses: string[], timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stateOf(taskId);
    if (statuses.includes(String(s.status))) return s;
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} stayed ${String(s.status)}; wanted ${statuses.join("|")}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Whole runs through the workflow: more than vitest's 5 s default on a loaded 2-core machine.
describe("MCP flows", { timeout: 30_000 }, () => {
  it("execute with waitSeconds 0 answers running with a progress diagram; state later has the result; the caller's token never reaches the executor", async () => {
    const { sent } = useExecutor(() => ({ costUsd: 0.02 }));
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const r = await call("execute", { prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 0 });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: "running", costUsd: 0 });
    expect(String(r.structuredContent?.progress)).toContain("flowchart");
    expect(textOf(r)).toContain("workflow_query");
    const taskId = String(r.structuredContent?.taskId);
    const done = await waitForStatus(taskId, ["succeeded"]);
    expect(done).toMatchObject({ costUsd: 0.02, result: expect.stringContaining("flowchart") });
    expect(sent.length).toBeGreaterThan(0);
    for (const line of sent) {
      expect(line).not.toContain(TOKEN);
      expect(line.toLowerCase()).not.toContain("authorization");
    }
  });

  it("a task halted at its cap resumes after 'breakers raise' and succeeds; the raise is a decisions row", async () => {
    useExecutor((_p, attempt) => (attempt === 1 ? { errorKind: "api", costUsd: 0.03 } : { costUsd: 0.01 }));
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const r = await call("execute", {
      prompt: "Fix the bug",
      repo: "demo",
      profile: "sonnet",
      budgetUsd: 0.02,
      waitSeconds: 10,
    });
    expect(r.structuredContent, textOf(r)).toMatchObject({ status: "halted" });
    const taskId = String(r.structuredContent?.taskId);
    const tooLow = await call("breakers", { action: "raise", taskId, capUsd: 0.01 });
    expect(textOf(tooLow)).toContain("capUsd must exceed");
    const raised = await call("breakers", { action: "raise", taskId, capUsd: 1, note: "worth it" });
    expect(raised.isError, textOf(raised)).toBeFalsy();
    // The raise answers the halt at once; the instance resumes and runs on its own time.
    const done = await waitForStatus(taskId, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    const row = await env.DB.prepare("SELECT decision, rationale FROM decisions WHERE task_id = ?1 AND kind = 'budget'")
      .bind(taskId)
      .first<{ decision: string; rationale: string }>();
    expect(row).toEqual({ decision: "cap raised to $1", rationale: "worth it" });
  });

  it("a needs_human task takes 'workflow decide' (approve) and ends succeeded; a second decision is refused", async () => {
    useExecutor(() => ({ errorKind: "api" }));
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const r = await call("execute", { prompt: "Hard one", repo: "demo", profile: "opus", waitSeconds: 10 });
    expect(r.structuredContent, textOf(r)).toMatchObject({ status: "needs_human" });
    const taskId = String(r.structuredContent?.taskId);
    const both = await call("workflow", {
      action: "decide",
      taskId,
      human: { decision: "approve" },
      budget: { capUsd: 9 },
    });
    expect(textOf(both)).toContain("exactly one");
    const ok = await call("workflow", { action: "decide", taskId, human: { decision: "approve", actor: "alice" } });
    expect(ok.isError, textOf(ok)).toBeFalsy();
    expect((await waitForStatus(taskId, ["succeeded", "failed"])).status).toBe("succeeded");
    const again = await call("workflow", { action: "decide", taskId, human: { decision: "reject" } });
    expect(textOf(again)).toContain("conflict");
    const rows = await env.DB.prepare("SELECT decision, actor FROM decisions WHERE task_id = ?1 AND kind = 'human'")
      .bind(taskId)
      .all();
    expect(rows.results).toEqual([{ decision: "approve", actor: "alice" }]);
  });

  it("workflow write stores a note and a checkpoint together, and writes nothing when either is bad", async () => {
    const init = await call("workflow", { action: "init", prompt: "x", repo: "demo" });
    const taskId = String(init.structuredContent?.taskId);
    const w = await call("workflow", {
      action: "write",
      taskId,
      content: "Reviewed: merged",
      checkpoint: { label: "reviewed", state: { pr: 12 } },
    });
    expect(w.isError, textOf(w)).toBeFalsy();
    expect(w.structuredContent).toMatchObject({
      taskId,
      transcriptId: expect.any(String),
      checkpointId: expect.any(String),
    });
    const cp = await call("checkpoint", { action: "get", id: String(w.structuredContent?.checkpointId) });
    expect(cp.structuredContent).toMatchObject({ label: "reviewed", state: { pr: 12 }, taskId });
    expect(textOf(await call("workflow", { action: "write", taskId }))).toContain("content, a checkpoint, or both");
    const big = await call("workflow", {
      action: "write",
      taskId,
      content: "kept?",
      checkpoint: { label: "big", state: "x".repeat(300 * 1024) },
    });
    expect(textOf(big)).toContain("256 KiB");
    const n = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM transcripts WHERE task_id = ?1) AS t, (SELECT count(*) FROM checkpoints WHERE task_id = ?1) AS c",
    )
      .bind(taskId)
      .first();
    expect(n).toEqual({ t: 1, c: 1 });
  });

  it("replay in bulk by 'since' through MCP, once; force makes a second, separately keyed replay", async () => {
    useExecutor(() => ({}));
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const ids: string[] = [];
    for (const status of ["failed", "halted", "succeeded"]) {
      const init = await call("workflow", {
        action: "init",
        prompt: `task ${status}`,
        repo: "demo",
        profile: "sonnet",
        kind: "bulk-replay",
      });
      const id = String(init.structuredContent?.taskId);
      await env.DB.prepare("UPDATE tasks SET status = ?2 WHERE id = ?1").bind(id, status).run();
      ids.push(id);
    }
    const [failed, halted, succeeded] = ids as [string, string, string];
    const dry = await call("replay", { since: "1h", dryRun: true, limit: 100 });
    expect(dry.isError, textOf(dry)).toBeFalsy();
    const dryItems = dry.structuredContent?.items as { originalId: string; status: string }[];
    expect(dryItems.filter((i) => [failed, halted].includes(i.originalId)).map((i) => i.status)).toEqual([
      "would_start",
      "would_start",
    ]);
    expect(dryItems.some((i) => i.originalId === succeeded)).toBe(false);

    const real = await call("replay", { since: "1h", limit: 100 });
    const started = (real.structuredContent?.items as { originalId: string; status: string }[])
      .filter((i) => i.status === "started")
      .map((i) => i.originalId);
    expect(started.sort()).toEqual([failed, halted].sort());
    const again = await call("replay", { since: "1h", limit: 100 });
    expect(
      (again.structuredContent?.items as { originalId: string; status: string }[]).filter(
        (i) => i.status === "started",
      ),
    ).toEqual([]);

    const forced = await call("replay", { taskId: failed, force: true });
    expect(forced.structuredContent).toMatchObject({ started: 1 });
    const keys = await env.DB.prepare("SELECT replay_key FROM tasks WHERE replay_of = ?1 ORDER BY replay_key")
      .bind(failed)
      .all<{ replay_key: string }>();
    expect(keys.results.map((r) => r.replay_key)).toEqual([`replay:${failed}:1`, `replay:${failed}:2`]);
    const decisions = await env.DB.prepare("SELECT count(*) AS n FROM decisions WHERE task_id = ?1 AND kind = 'replay'")
      .bind(failed)
      .first<{ n: number }>();
    expect(decisions?.n).toBe(2);

    const running = await call("workflow", { action: "init", prompt: "not done", repo: "demo" });
    const skipped = await call("replay", { taskId: String(running.structuredContent?.taskId) });
    expect(skipped.structuredContent).toMatchObject({
      started: 0,
      skipped: 1,
      items: [{ status: "skipped", reason: expect.stringContaining("still init") }],
    });
    expect(textOf(await call("replay", { since: "yesterday" }))).toContain("since");
    // The replays run on the fake executor: let them finish before it is swapped out.
    const replays = await env.DB.prepare(
      "SELECT id FROM tasks WHERE replay_of IS NOT NULL AND kind = 'bulk-replay'",
    ).all<{ id: string }>();
    expect(replays.results).toHaveLength(3);
    for (const r of replays.results)
      expect((await waitForStatus(r.id, ["succeeded", "failed"])).status).toBe("succeeded");
  });

  it("bad input on transcript and breakers is a tool error that names the field", async () => {
    const t = await call("transcript", { action: "create", content: "no task" });
    expect(t.isError).toBe(true);
    expect(textOf(t)).toContain("taskId");
    expect(textOf(await call("transcript", { action: "get" }))).toContain("id");
    const b = await call("breakers", { action: "raise", taskId: "t-20200101-0000-aaaaaa", capUsd: -1 });
    expect(b.isError).toBe(true);
    expect(textOf(b)).toContain("capUsd");
    expect((await call("breakers", { action: "explode" })).isError).toBe(true);
  });
});
