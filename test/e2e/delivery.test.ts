/**
 * From a task to a pull request, end to end with real parts: the stack (wrangler dev + the executor),
 * the real claude CLI against the mock model API ('tool': a real shell tool call writes hello.txt and
 * a file of 40,000 numbers, so the diff spans several pages), a bare repo served over git's smart
 * HTTP with Basic auth (test/git-remote), and the GitHub stand-in that checks every request against
 * GitHub's OpenAPI description (test/github-standin). The `vault` binary runs as a user's shell would.
 * One stack for every case; they run in order and build on each other.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TaskDetail, TaskDiffPage, TaskState } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cleanEnv, type Ran, runVault, spawnRun } from "../../cli/test/helpers.ts";
import { type GitRemote, startGitRemote } from "../git-remote/server.ts";
import { type GitHubStandin, startGitHubStandin } from "../github-standin/server.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";

const TOKEN = "ghp_e2eStandinToken0123456789abcdefAB";
const GITHUB = "octo-org/app";
/** The agent's shell command: hello.txt, and 40,000 lines of numbers (a diff of several 64 KiB pages). */
const TOOL = `node -e "const fs = require('fs'); fs.writeFileSync('hello.txt', 'hello from the agent\\n'); fs.writeFileSync('numbers.txt', Array.from({ length: 40000 }, (_, i) => i + 1).join('\\n') + '\\n')"`;

let e: E2E;
let remote: GitRemote;
let gh: GitHubStandin;
let secrets: string;
let credentials: string;

function writeCredentials(token: string): void {
  writeFileSync(credentials, `${remote.credentialLine(token)}\n`);
  chmodSync(credentials, 0o600);
}

beforeAll(async () => {
  remote = await startGitRemote({ token: TOKEN });
  remote.createRepo("app", { "README.md": "# app\n" });
  gh = await startGitHubStandin({ token: TOKEN, branchSha: (_o, repo, branch) => remote.sha(repo, branch) });
  secrets = mkdtempSync(path.join(os.tmpdir(), "vault-e2e-creds-"));
  credentials = path.join(secrets, "git-credentials");
  writeCredentials(TOKEN);
  e = await startE2E(
    { sonnet: "tool" },
    {},
    { GIT_CREDENTIALS: credentials, GITHUB_API_URL: gh.url },
    {},
    { toolCommand: TOOL },
  );
}, 120_000);

afterAll(async () => {
  await e?.stop();
  await remote?.close();
  rmSync(secrets, { recursive: true, force: true });
  // Throws if any request the executor sent broke GitHub's description.
  await gh?.close();
}, 60_000);

/** The `vault` binary against this stack (asynchronous: the remote answers from this process). */
const vault = (args: string[]): Promise<Ran> =>
  runVault(args, { VAULT_URL: e.stack.workerUrl, VAULT_AUTH_TOKEN: e.token });

async function api<T>(pathname: string, init?: RequestInit): Promise<T> {
  const res = await e.api(pathname, init);
  if (!res.ok) throw new Error(`${pathname}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function executeTask(prompt: string): Promise<string> {
  const { taskId } = await api<{ taskId: string }>("/api/execute", {
    method: "POST",
    body: JSON.stringify({ prompt, repo: "app", profile: "sonnet", waitSeconds: 0 }),
  });
  return taskId;
}

const pullsOf = (taskId: string) => gh.pulls().filter((p) => p.head === `vault/${taskId}`);

/** `git diff` of the bare remote itself, with the executor's flags: what the pages must add up to. */
function remoteDiff(base: string, commit: string): string {
  return execFileSync("git", ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames", base, commit], {
    cwd: path.join(remote.root, "app.git"),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}

const ids = { first: "", second: "" };

describe("from a task to a pull request", () => {
  it("vault repos add, then vault execute: pushed to vault/<taskId>, one PR, exit 0 with branch and PR URL", async () => {
    const add = await vault(["repos", "add", "app", remote.repoUrl("app"), "--deliver", "pr", "--github", GITHUB]);
    expect(add.code, add.err).toBe(0);
    expect(add.out).toContain(`added app: ${remote.repoUrl("app")} · branch main · deliver pr (${GITHUB})`);

    const r = await vault([
      "execute",
      "Create hello.txt\nThen say so.",
      "--repo",
      "app",
      "--profile",
      "sonnet",
      "--interval",
      "0.3",
    ]);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    const taskId = /^(t-\d{8}-\d{4}-[a-z0-9]{6}) succeeded/m.exec(r.out)?.[1] ?? "";
    expect(taskId).not.toBe("");
    ids.first = taskId;
    expect(r.out).toContain("flowchart");
    expect(r.out).toMatch(new RegExp(`branch {2}vault/${taskId} @ [0-9a-f]{12} \\(on the remote\\)`));
    expect(r.out).toContain(`PR      ${gh.url}/${GITHUB}/pull/`);
    // Progress on stderr, plain lines (not a terminal): the step and rung as they changed.
    expect(r.err).toMatch(new RegExp(`${taskId} · attempt 1 running · sonnet · `));

    expect(remote.show("app", `vault/${taskId}`, "hello.txt")).toBe("hello from the agent\n");
    const pulls = pullsOf(taskId);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ title: "Create hello.txt", base: "main", state: "open" });
    expect(pulls[0]?.body).toContain(`\`${taskId}\``);
    expect(pulls[0]?.body).toMatch(/```mermaid\nflowchart/);
  }, 120_000);

  it("on a terminal, vault execute keeps one status line up to date, then prints the result (deliver push)", async () => {
    // `script` gives the binary a real pseudo-terminal (stdout and stderr), as a user's shell would.
    const command = [process.execPath, BIN, "execute", "Create hello.txt", "--repo", "app", "--profile", "sonnet"]
      .concat(["--deliver", "push", "--interval", "0.3"])
      .map((a) => `'${a}'`)
      .join(" ");
    const r = await spawnRun(
      "script",
      ["-qfec", command, "/dev/null"],
      { ...cleanEnv(), VAULT_URL: e.stack.workerUrl, VAULT_AUTH_TOKEN: e.token, TERM: "xterm" },
      process.cwd(),
    );
    expect(r.code, r.out).toBe(0);
    const taskId = /(t-\d{8}-\d{4}-[a-z0-9]{6}) started on app/.exec(r.out)?.[1] ?? "";
    expect(taskId).not.toBe("");
    // The status line is rewritten in place (carriage return, erase line), never scrolled.
    expect(r.out).toContain(`\r\x1b[2K${taskId} · attempt 1 running · sonnet · `);
    expect(r.out).toMatch(new RegExp(`branch {2}vault/${taskId} @ [0-9a-f]{12} \\(on the remote\\)`));
    expect(r.out).not.toContain("PR      ");
    expect(remote.show("app", `vault/${taskId}`, "hello.txt")).toBe("hello from the agent\n");
    expect(pullsOf(taskId)).toEqual([]);
  }, 120_000);

  it("a commit pushed after repos add is the next job's base; a lost PR answer still leaves one PR", async () => {
    const later = remote.commit("app", { "later.txt": "pushed after repos add\n" });
    gh.dropAnswers("pulls/create", 1);
    const taskId = await executeTask("Create hello.txt");
    ids.second = taskId;
    const s = TaskState.parse(await waitState(e, taskId, 90_000));
    expect(s.status, s.error).toBe("succeeded");
    expect(s.flags).not.toContain("delivery_failed");
    const detail = TaskDetail.parse(await api(`/api/tasks/${taskId}`));
    expect(detail.stages[0]).toMatchObject({ baseCommit: later, baseFresh: true, baseNote: null });
    expect(remote.show("app", `vault/${taskId}`, "later.txt")).toBe("pushed after repos add\n");
    expect(pullsOf(taskId)).toHaveLength(1);
    // The stand-in really dropped the answer to the create that opened it.
    expect(gh.requests().filter((r) => r.operationId === "pulls/create" && r.status === -1)).toHaveLength(1);
    expect(s.change?.prUrl).toBe(`${gh.url}/${GITHUB}/pull/${pullsOf(taskId)[0]?.number}`);
    expect(s.change).toMatchObject({ files: 2, added: 40_001, deleted: 0, delivery: "delivered" });
  }, 120_000);

  it("the diff pages (REST and vault tasks diff) add up to the whole diff", async () => {
    const taskId = ids.second;
    const detail = TaskDetail.parse(await api(`/api/tasks/${taskId}`));
    const base = detail.stages[0]?.baseCommit ?? "";
    const whole = remoteDiff(base, remote.sha("app", `vault/${taskId}`) ?? "");
    expect(whole.length).toBeGreaterThan(3 * 64 * 1024);
    let text = "";
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
      const page = TaskDiffPage.parse(await api(`/api/tasks/${taskId}/diff${q}`));
      expect(Buffer.byteLength(page.text)).toBeLessThanOrEqual(64 * 1024);
      if (pages === 0) expect(page.stat).toMatchObject({ added: 40_001, deleted: 0 });
      text += page.text;
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBeGreaterThanOrEqual(4);
    expect(text).toBe(whole);

    const cli = await vault(["tasks", "diff", taskId]);
    expect(cli.code, cli.err).toBe(0);
    expect(cli.out).toMatch(/^ hello\.txt\s+\| \+1 -0\n numbers\.txt \| \+40000 -0\n 2 files changed, \+40001 -0/);
    expect(cli.out.slice(cli.out.indexOf("diff --git"))).toBe(whole);
  }, 60_000);

  it("close with discard closes the PR and deletes the branch; a plain close leaves both", async () => {
    const close = (id: string, body: object) =>
      api(`/api/tasks/${id}/close`, { method: "POST", body: JSON.stringify(body) });
    await close(ids.first, {});
    await close(ids.second, { discard: true });
    expect(remote.sha("app", `vault/${ids.first}`)).not.toBeNull();
    expect(pullsOf(ids.first).map((p) => p.state)).toEqual(["open"]);
    expect(remote.sha("app", `vault/${ids.second}`)).toBeNull();
    expect(pullsOf(ids.second).map((p) => p.state)).toEqual(["closed"]);
  }, 60_000);

  it("a wrong token: succeeded with delivery_failed; vault deliver after fixing the file pushes and opens the PR", async () => {
    writeCredentials("not-the-token");
    const taskId = await executeTask("Create hello.txt");
    const s = TaskState.parse(await waitState(e, taskId, 90_000));
    expect(s.status, s.error).toBe("succeeded");
    expect(s.flags).toContain("delivery_failed");
    expect(s.change?.delivery).toBe("failed");
    expect(s.change?.deliveryError).toContain(credentials);
    expect(s.change?.deliveryError).toContain(`vault deliver ${taskId}`);
    // The fetch before the job was refused too: the job ran on the last fetched commit, and says so.
    const detail = TaskDetail.parse(await api(`/api/tasks/${taskId}`));
    expect(detail.stages[0]?.baseFresh).toBe(false);
    expect(detail.stages[0]?.baseNote).toMatch(
      /^stale base: ran on main @ [0-9a-f]{12} fetched .* before the job started/,
    );
    expect(JSON.stringify(detail)).not.toContain(TOKEN);
    expect(remote.sha("app", `vault/${taskId}`)).toBeNull();
    expect(pullsOf(taskId)).toEqual([]);

    writeCredentials(TOKEN);
    const d = await vault(["deliver", taskId]);
    expect(d.code, `${d.out}\n${d.err}`).toBe(0);
    expect(d.out).toContain(`${taskId}: delivered`);
    expect(d.out).toContain(`PR      ${gh.url}/${GITHUB}/pull/`);
    expect(remote.show("app", `vault/${taskId}`, "hello.txt")).toBe("hello from the agent\n");
    expect(pullsOf(taskId)).toHaveLength(1);
    const after = TaskState.parse(await api(`/api/tasks/${taskId}/state`));
    expect(after.flags).not.toContain("delivery_failed");
    expect(after.change?.delivery).toBe("delivered");
    const show = await vault(["tasks", "show", taskId]);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toMatch(/#1 sonnet: stale base: ran on main @ [0-9a-f]{12} fetched /);
    expect(show.out).toMatch(new RegExp(`branch {2}vault/${taskId} @ [0-9a-f]{12} \\(on the remote\\)`));
    expect(show.out).toContain("change  2 files, +40001 −0");
    expect(show.out).toContain(`PR      ${gh.url}/${GITHUB}/pull/`);
  }, 120_000);
});
