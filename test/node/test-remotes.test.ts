/**
 * The test doubles of issue 17 themselves: the GitHub stand-in must refuse (loudly) what GitHub's
 * description does not allow, or the delivery tests built on it could pass against a request the
 * real API would refuse; the git remote must refuse a wrong token like a real host.
 */
import { execFile } from "node:child_process";
import os from "node:os";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitRemote, startGitRemote } from "../git-remote/server.ts";
import { type GitHubStandin, startGitHubStandin } from "../github-standin/server.ts";

const TOKEN = "standin-token-0123456789";

describe("GitHub stand-in", () => {
  let gh: GitHubStandin;
  beforeAll(async () => {
    gh = await startGitHubStandin({ token: TOKEN, branchSha: (_o, _r, b) => (b === "gone" ? null : "a".repeat(40)) });
  });
  afterAll(() => gh.close().catch(() => undefined));

  const call = (method: string, p: string, body?: unknown, token = TOKEN) =>
    fetch(`${gh.url}${p}`, {
      method,
      headers: { authorization: `token ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it("answers schema-valid pull requests: create, list by head, a second create → 422 already exists, update", async () => {
    const pr = { title: "T", head: "vault/t-1", base: "main", body: "B" };
    const created = await call("POST", "/repos/o/r/pulls", pr);
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ number: 1, state: "open", head: { ref: "vault/t-1" } });
    const list = await call("GET", "/repos/o/r/pulls?head=o:vault/t-1&state=open");
    expect(((await list.json()) as unknown[]).length).toBe(1);
    const dup = await call("POST", "/repos/o/r/pulls", pr);
    expect(dup.status).toBe(422);
    expect(JSON.stringify(await dup.json())).toContain("A pull request already exists for o:vault/t-1.");
    const closed = await call("PATCH", "/repos/o/r/pulls/1", { state: "closed" });
    expect(await closed.json()).toMatchObject({ state: "closed" });
    expect((await call("POST", "/repos/o/r/pulls", { ...pr, head: "gone" })).status).toBe(422);
    expect(gh.violations()).toEqual([]);
  });

  it("a request GitHub's description refuses is a violation, and assertValid throws", async () => {
    expect((await call("GET", "/repos/o/r/pulls", undefined, "wrong")).status).toBe(401);
    expect(gh.violations()).toEqual([]);
    expect((await call("POST", "/repos/o/r/pulls", { title: "no base", head: "x" })).status).toBe(400);
    expect((await call("GET", "/repos/o/r/pulls?state=bogus")).status).toBe(400);
    expect((await call("GET", "/repos/o/r/pulls?head=no-owner")).status).toBe(200);
    expect((await call("GET", "/no/such/route")).status).toBe(404);
    expect((await call("GET", "/repos/o/r/issues")).status).toBe(501);
    expect(gh.violations()).toHaveLength(5);
    expect(gh.violations().join("\n")).toMatch(/pulls\/create request: .*base/);
    expect(() => gh.assertValid()).toThrow(/break GitHub's description/);
  });
});

describe("git remote over smart HTTP", () => {
  let remote: GitRemote;
  beforeAll(async () => {
    remote = await startGitRemote({ token: TOKEN });
    remote.createRepo("app", { "a.txt": "a\n" });
  });
  afterAll(() => remote.close());

  // Asynchronous: the remote answers from this process's event loop.
  const lsRemote = async (token: string) =>
    (
      await promisify(execFile)(
        "git",
        [
          "-c",
          "credential.helper=",
          "ls-remote",
          remote.repoUrl("app").replace("http://", `http://x-access-token:${token}@`),
        ],
        {
          env: {
            PATH: process.env.PATH ?? "",
            HOME: os.tmpdir(),
            GIT_CONFIG_GLOBAL: "/dev/null",
            GIT_TERMINAL_PROMPT: "0",
          },
        },
      )
    ).stdout;

  it("serves the repo with the right token and answers 401 to a wrong one", async () => {
    expect(await lsRemote(TOKEN)).toContain(`${remote.sha("app", "main")}\trefs/heads/main`);
    await expect(lsRemote("wrong")).rejects.toThrow(/Authentication failed/);
    expect(remote.requests().some((r) => r.status === 401)).toBe(true);
  });
});
