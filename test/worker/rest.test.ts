import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { TaskDetail, type TaskList } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { api } from "./mcp-client.ts";

afterEach(() => setExecutorFetch(null));
const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

describe("REST /api", () => {
  it("needs the bearer token", async () => {
    expect((await api("/api/tasks", { token: null })).status).toBe(401);
    expect((await api("/api/tasks", { token: "wrong" })).status).toBe(401);
  });

  it("executes a task and shows it in list, detail and state", async () => {
    setExecutorFetch(new FakeExecutor(() => ({ costUsd: 0.05 })).fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const res = await api("/api/execute", {
      method: "POST",
      body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 10 }),
    });
    expect(res.status).toBe(200);
    const out = await json<{ taskId: string; status: string; result: string }>(res);
    expect(out.status).toBe("succeeded");
    const list = await json<{ tasks: { id: string; status: string }[] }>(
      await api("/api/tasks?status=succeeded&since=1h"),
    );
    expect(list.tasks.map((t) => t.id)).toContain(out.taskId);
    const detail = await json<{
      task: { id: string };
      stages: { profile: string; costUsd: number; tokensIn: number; latencyMs: number }[];
      breakers: unknown;
    }>(await api(`/api/tasks/${out.taskId}`));
    expect(detail.stages).toMatchObject([{ profile: "sonnet", costUsd: 0.05, tokensIn: 1200, latencyMs: 1200 }]);
    expect(detail.breakers).toEqual({ dayBlocked: false, monthFlagged: false });
    expect(await json(await api(`/api/tasks/${out.taskId}/state`))).toMatchObject({ status: "succeeded" });
    const stats = await json<{ stats: { profile: string; runs: number }[] }>(await api("/api/stats"));
    expect(stats.stats.find((s) => s.profile === "sonnet")?.runs).toBeGreaterThanOrEqual(1);
    const breakers = await json<{ day: { spentUsd: number } }>(await api("/api/breakers"));
    expect(breakers.day.spentUsd).toBeGreaterThanOrEqual(0.05);
  });

  it("list and detail carry what the CLI renders: model runs (not skipped rungs), files, verify, consensus, progress", async () => {
    // deepseek cannot run (skipped), gemini-flash fails its verify, gemini-pro succeeds: 3 attempts, 2 model runs.
    // A kind no other test ran, so the chooser starts at the first rung (other runs could start it higher).
    setExecutorFetch(
      new FakeExecutor((profile) => (profile === "gemini-flash" ? { verifyFails: true } : {}), undefined, {
        missing: { deepseek: "set DEEPSEEK_API_KEY" },
      }).fetch,
    );
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    const climbed = await json<{ taskId: string; status: string }>(
      await api("/api/execute", {
        method: "POST",
        body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", kind: "rest-climb", waitSeconds: 10 }),
      }),
    );
    expect(climbed.status).toBe("succeeded");
    const detail = await json<TaskDetail>(await api(`/api/tasks/${climbed.taskId}`));
    expect(TaskDetail.parse(detail)).toBeTruthy();
    expect(detail.stages.map((s) => [s.profile, s.status, s.filesChanged, s.verifyOk])).toEqual([
      ["deepseek", "skipped", 0, null],
      ["gemini-flash", "failed", 1, false],
      ["gemini-pro", "succeeded", 1, null],
    ]);
    expect(detail.task).toMatchObject({ attempts: 3, modelRuns: 2 });
    expect(detail).toMatchObject({ consensus: null, progress: null });
    const list = await json<TaskList>(await api("/api/tasks?limit=500"));
    expect(list.tasks.find((t) => t.id === climbed.taskId)).toMatchObject({ attempts: 3, modelRuns: 2 });

    setExecutorFetch(new FakeExecutor(() => ({ consensus: true })).fetch);
    const both = await json<{ taskId: string; status: string }>(
      await api("/api/execute", {
        method: "POST",
        body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", executor: "consensus", waitSeconds: 10 }),
      }),
    );
    expect(both.status).toBe("succeeded");
    expect((await json<TaskDetail>(await api(`/api/tasks/${both.taskId}`))).consensus).toEqual({
      attempt: 1,
      verdict: "agree",
      profiles: ["sonnet", "codex"],
      answerSimilarity: 0.9,
      fileAgreement: [{ path: "hello.txt", same: true }],
      filesOnlyA: [],
      filesOnlyB: [],
      verify: [null, null],
    });

    const init = await json<{ id: string }>(
      await api("/api/tasks", { method: "POST", body: JSON.stringify({ prompt: "p", repo: "demo" }) }),
    );
    expect((await json<TaskDetail>(await api(`/api/tasks/${init.id}`))).progress).toEqual({
      attempt: 1,
      text: "first attempt under way",
    });
  });

  it("creates, specs, writes and closes a task; errors name the field", async () => {
    const created = await api("/api/tasks", { method: "POST", body: JSON.stringify({ prompt: "x", repo: "demo" }) });
    expect(created.status).toBe(201);
    const { id } = await json<{ id: string }>(created);
    expect((await api(`/api/tasks/${id}/spec`, { method: "POST", body: JSON.stringify({ spec: "s" }) })).status).toBe(
      200,
    );
    expect(
      (await api(`/api/tasks/${id}/write`, { method: "POST", body: JSON.stringify({ content: "w" }) })).status,
    ).toBe(201);
    const both = await api(`/api/tasks/${id}/write`, {
      method: "POST",
      body: JSON.stringify({ content: "w2", checkpoint: { label: "l", state: { a: 1 } } }),
    });
    expect(both.status).toBe(201);
    const ids = await json<{ transcriptId: string; checkpointId: string }>(both);
    expect(await json(await api(`/api/checkpoints/${ids.checkpointId}`))).toMatchObject({
      label: "l",
      state: { a: 1 },
      taskId: id,
    });
    expect(await json(await api(`/api/transcripts/${ids.transcriptId}`))).toMatchObject({
      kind: "note",
      content: "w2",
      taskId: id,
    });
    expect((await api(`/api/tasks/${id}/write`, { method: "POST", body: "{}" })).status).toBe(400);
    expect((await api(`/api/tasks/${id}/consensus`)).status).toBe(404);
    expect((await api("/api/breakers/ack", { method: "POST", body: "{}" })).status).toBe(409);
    expect((await api(`/api/tasks/${id}/close`, { method: "POST", body: "{}" })).status).toBe(409);
    const bad = await api("/api/tasks", { method: "POST", body: JSON.stringify({ prompt: "", repo: "a/b" }) });
    expect(bad.status).toBe(400);
    const msg = (await json<{ error: { message: string } }>(bad)).error.message;
    expect(msg).toContain("prompt");
    expect(msg).toContain("repo");
    expect((await api("/api/tasks/t-20200101-0000-aaaaaa")).status).toBe(404);
    expect((await api("/api/tasks?since=yesterday")).status).toBe(400);
  });

  it("decide and budget refuse tasks in the wrong state", async () => {
    const { id } = await json<{ id: string }>(
      await api("/api/tasks", { method: "POST", body: JSON.stringify({ prompt: "x", repo: "demo" }) }),
    );
    expect(
      (await api(`/api/tasks/${id}/decide`, { method: "POST", body: JSON.stringify({ decision: "approve" }) })).status,
    ).toBe(409);
    expect((await api(`/api/tasks/${id}/budget`, { method: "POST", body: JSON.stringify({ capUsd: 9 }) })).status).toBe(
      409,
    );
    expect(
      (await api(`/api/tasks/${id}/decide`, { method: "POST", body: JSON.stringify({ decision: "maybe" }) })).status,
    ).toBe(400);
  });

  it("KV, checkpoints, decisions, transcripts, chooser and replay routes", async () => {
    expect((await api("/api/kv/notes%2Fa", { method: "PUT", body: JSON.stringify({ value: "v" }) })).status).toBe(200);
    expect(await json(await api("/api/kv/notes%2Fa"))).toEqual({ key: "notes/a", value: "v" });
    expect(await json(await api("/api/kv?prefix=notes"))).toMatchObject({ keys: ["notes/a"] });
    expect((await api("/api/kv/notes%2Fa", { method: "DELETE" })).status).toBe(200);
    expect((await api("/api/kv/notes%2Fa")).status).toBe(404);
    const { id } = await json<{ id: string }>(
      await api("/api/tasks", { method: "POST", body: JSON.stringify({ prompt: "x", repo: "demo" }) }),
    );
    expect(
      (await api("/api/checkpoints", { method: "POST", body: JSON.stringify({ taskId: id, label: "l", state: [1] }) }))
        .status,
    ).toBe(201);
    expect(
      (await api("/api/decisions", { method: "POST", body: JSON.stringify({ taskId: id, decision: "d" }) })).status,
    ).toBe(201);
    expect(
      (await api("/api/transcripts", { method: "POST", body: JSON.stringify({ taskId: id, content: "c" }) })).status,
    ).toBe(201);
    for (const kind of ["checkpoints", "decisions", "transcripts"]) {
      expect((await json<{ items: unknown[] }>(await api(`/api/${kind}?taskId=${id}`))).items).toHaveLength(1);
    }
    expect(await json(await api("/api/chooser?kind=Bug%20fix,%20CSS"))).toMatchObject({
      kind: "bug-fix-css",
      bestKnown: "deepseek",
      basis: "cold",
      worthUsd: 5,
    });
    await env.DB.prepare("UPDATE tasks SET status = 'failed' WHERE id = ?1").bind(id).run();
    const dry = await json<{ items: { originalId: string; status: string }[] }>(
      await api("/api/replay", { method: "POST", body: JSON.stringify({ since: "1h", dryRun: true }) }),
    );
    expect(dry.items).toContainEqual({ originalId: id, newTaskId: null, status: "would_start" });
    expect((await api("/api/nope")).status).toBe(404);
    expect((await api("/api/tasks", { method: "DELETE" })).status).toBe(405);
  });
});
