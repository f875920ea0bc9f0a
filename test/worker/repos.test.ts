/**
 * Repos registered by URL over REST and MCP (one schema for both), and the MCP side of delivery:
 * execute's answer carries the change beside its diagram, `workflow_query diff` pages the diff,
 * `workflow deliver` delivers again. Only the executor is faked (test/workflows/fake-executor.ts).
 */
import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { RepoList, RepoSaved } from "@vault-mcp/contract";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { api, connect, textOf } from "./mcp-client.ts";

let client: Client;
beforeAll(async () => {
  client = await connect();
});
afterEach(async () => {
  setExecutorFetch(null);
  await env.DB.exec("DELETE FROM repos; DELETE FROM circuit_breaker; DELETE FROM model_stats;");
});

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text?: string }[] };
const call = async (name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as ToolResult;
const post = (path: string, body: unknown) => api(path, { method: "POST", body: JSON.stringify(body) });

describe("repos over REST", () => {
  it("add derives github from a github.com URL; add again updates it; list; remove", async () => {
    const res = await post("/api/repos", { name: "app", url: "https://github.com/octo-org/app.git", deliver: "pr" });
    expect(res.status, await res.clone().text()).toBe(200);
    const saved = RepoSaved.parse(await res.json());
    expect(saved).toMatchObject({
      created: true,
      repo: { name: "app", defaultBranch: "main", deliver: "pr", github: "octo-org/app" },
    });
    const again = RepoSaved.parse(
      await (
        await post("/api/repos", { name: "app", url: "https://github.com/octo-org/app", defaultBranch: "trunk" })
      ).json(),
    );
    expect(again).toMatchObject({ created: false, repo: { defaultBranch: "trunk", deliver: "none" } });
    expect(again.repo.createdAt).toBe(saved.repo.createdAt);
    const list = RepoList.parse(await (await api("/api/repos")).json());
    expect(list.repos.map((r) => r.name)).toEqual(["app"]);
    expect(await (await api("/api/repos/app", { method: "DELETE" })).json()).toEqual({ name: "app", removed: true });
    expect(await (await api("/api/repos/app", { method: "DELETE" })).json()).toEqual({ name: "app", removed: false });
  });

  it("refuses a URL with a token, another scheme, pr without github off github.com, unknown fields", async () => {
    const cases: [unknown, string][] = [
      [{ name: "a", url: "https://user:ghp_x@github.com/o/r.git" }, "url"],
      [{ name: "a", url: "file:///etc" }, "url"],
      [{ name: "a", url: "https://git.example.com/o/r.git", deliver: "pr" }, "github"],
      [{ name: "../a", url: "https://github.com/o/r" }, "name"],
      [{ name: "a", url: "https://github.com/o/r", token: "x" }, "token"],
      [{ name: "a", url: "https://github.com/o/r", defaultBranch: "--upload-pack=x" }, "defaultBranch"],
    ];
    for (const [body, field] of cases) {
      const res = await post("/api/repos", body);
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(text).toContain(field);
      expect(text).not.toContain("ghp_x");
    }
    expect(RepoList.parse(await (await api("/api/repos")).json()).repos).toEqual([]);
  });
});

describe("repos and delivery over MCP", { timeout: 30_000 }, () => {
  it("repos add / list / remove", async () => {
    const add = await call("repos", {
      action: "add",
      name: "svc",
      url: "https://git.example.com/team/svc.git",
      deliver: "pr",
      github: "team/svc",
    });
    expect(add.isError, textOf(add)).toBeFalsy();
    const list = await call("repos", { action: "list" });
    expect(textOf(list)).toContain("svc  https://git.example.com/team/svc.git  branch main  deliver pr (team/svc)");
    expect(list.structuredContent?.repos).toMatchObject([{ name: "svc", deliver: "pr" }]);
    const bad = await call("repos", { action: "add", name: "x", url: "https://git.example.com/x.git", deliver: "pr" });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain("github");
    expect((await call("repos", { action: "remove", name: "svc" })).structuredContent).toEqual({
      name: "svc",
      removed: true,
    });
  });

  it("execute answers the change beside the diagram; diff pages; deliver again", async () => {
    const fake = new FakeExecutor(() => ({}));
    setExecutorFetch(fake.fetch);
    await using intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
    await intro.modifyAll(async (m) => m.disableRetryDelays());
    await call("repos", { action: "add", name: "web", url: "https://github.com/octo-org/web.git", deliver: "push" });
    const ex = await call("execute", {
      prompt: "Create hello.txt",
      repo: "web",
      profile: "sonnet",
      deliver: "pr",
      waitSeconds: 20,
    });
    expect(ex.isError, textOf(ex)).toBeFalsy();
    const taskId = String(ex.structuredContent?.taskId);
    expect(ex.structuredContent?.status).toBe("succeeded");
    expect(ex.structuredContent?.change).toMatchObject({
      deliver: "pr",
      branch: `vault/${taskId}`,
      files: 1,
      added: 1,
      deleted: 0,
      prUrl: "https://github.com/octo-org/web/pull/1",
    });
    const text = textOf(ex);
    expect(text).toContain(
      `branch vault/${taskId} @ 0123456789ab · 1 file +1 -0 · PR https://github.com/octo-org/web/pull/1`,
    );
    expect(text).toContain("flowchart");

    const state = await call("workflow_query", { query: "state", taskId });
    expect(state.structuredContent?.change).toMatchObject({ delivery: "delivered" });

    const diff = await call("workflow_query", { query: "diff", taskId });
    expect(diff.isError, textOf(diff)).toBeFalsy();
    expect(textOf(diff)).toContain("1 file changed, +1 -0");
    expect(textOf(diff)).toContain("+++ b/hello.txt");
    expect(diff.structuredContent).toMatchObject({ taskId, attempt: 1, side: "a", sides: ["a"], cursor: null });

    const again = await call("workflow", { action: "deliver", taskId });
    expect(again.isError, textOf(again)).toBeFalsy();
    expect(textOf(again)).toContain(`delivered: vault/${taskId}`);
    expect(fake.remote.pulls).toHaveLength(1);
  });
});
