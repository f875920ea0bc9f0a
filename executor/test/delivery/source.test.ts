/**
 * Repos registered by URL: the executor clones them itself (never an agent) and fetches the default
 * branch before each job, over real smart HTTP with Basic auth; a failed fetch runs on the last
 * fetched commit and says so; credentials never land in the clone.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { WireError } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { job, post } from "../server/harness.ts";
import { type DeliveryEnv, deliveryEnv, TOKEN } from "./helpers.ts";

let env: DeliveryEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

/** Every file under `dir` that contains `needle` (binary included). */
function grepFiles(dir: string, needle: string): string[] {
  try {
    return execFileSync("grep", ["-rlaF", "--", needle, dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    // grep exits 1 when nothing matches
    return [];
  }
}

describe("repos registered by URL", () => {
  it("a commit pushed to the remote after the first clone is in the next job's base", async () => {
    env = await deliveryEnv();
    const first = await env.run("write:one.txt");
    expect(first.status).toBe("succeeded");
    const c1 = env.remote.sha("app", "main");
    expect(first.result?.base).toMatchObject({ ref: "main", commit: c1, fresh: true });
    const c2 = env.remote.commit("app", { "upstream.txt": "pushed by someone else\n" });
    const second = await env.run("write:two.txt");
    expect(second.result?.base).toMatchObject({ ref: "main", commit: c2, fresh: true });
    expect(second.result?.base?.fetchError).toBeUndefined();
    // The job's commit sits on c2: its tree has upstream.txt and its parent is c2.
    const repo = path.join(env.h.dir, "repos", "app");
    const git = (...a: string[]) => execFileSync("git", ["-C", repo, ...a], { encoding: "utf8" }).trim();
    expect(git("rev-parse", `${second.result?.commit}^`)).toBe(c2);
    expect(git("show", `${second.result?.commit}:upstream.txt`)).toBe("pushed by someone else");
  });

  it("a failed fetch runs the job on the last fetched commit, and the base says when and why", async () => {
    env = await deliveryEnv();
    const first = await env.run("write:one.txt");
    const fetchedAt = first.result?.base?.fetchedAt;
    env.remote.commit("app", { "later.txt": "not fetched\n" });
    env.remote.setToken("rotated-token-the-executor-does-not-have");
    const second = await env.run("write:two.txt");
    expect(second.status).toBe("succeeded");
    expect(second.result?.base).toMatchObject({ commit: first.result?.base?.commit, fetchedAt, fresh: false });
    expect(second.result?.base?.fetchError).toMatch(/fetch of main from .* failed \(auth\)/);
    expect(second.result?.base?.fetchError).not.toContain(TOKEN);
  });

  it("a fetch that outlives FETCH_TIMEOUT_MS is cut, and the job still runs (network)", async () => {
    env = await deliveryEnv({ env: { FETCH_TIMEOUT_MS: "1000" } });
    const first = await env.run("write:one.txt");
    env.remote.setDelay(3_000);
    const t0 = Date.now();
    const second = await env.run("write:two.txt");
    expect(Date.now() - t0).toBeLessThan(2_900);
    expect(second.status).toBe("succeeded");
    expect(second.result?.base).toMatchObject({ commit: first.result?.base?.commit, fresh: false });
    expect(second.result?.base?.fetchError).toMatch(/\(network\).*timed out/);
  });

  it("a first clone that fails fails the job as setup, with the reason; nothing is left in the repos dir", async () => {
    env = await deliveryEnv();
    env.writeCredentials("not-the-token");
    const view = await env.run("write:one.txt");
    expect(view.status).toBe("failed");
    expect(view.result?.run.error).toMatchObject({ kind: "setup" });
    expect(view.result?.run.error?.message).toMatch(/could not clone .*app\.git \(auth\)/);
    expect(env.h.spawns()).toHaveLength(0);
    expect(execFileSync("ls", ["-A", path.join(env.h.dir, "repos")], { encoding: "utf8" }).trim()).toBe("demo");
    const missing = await env.run("write:one.txt", { source: { ...env.source, url: env.remote.repoUrl("nope") } });
    expect(missing.result?.run.error?.message).toMatch(/could not clone/);
  });

  it("a name taken by a repo placed by hand is refused at submit (400), never adopted", async () => {
    env = await deliveryEnv();
    const res = await post(`${env.url}/jobs`, job({ repo: "demo", source: env.source }));
    expect(res.status).toBe(400);
    const err = WireError.parse(await res.json());
    expect(err.error.code).toBe("repo_not_allowed");
    expect(err.error.message).toContain("placed by hand");
    const bad = await post(
      `${env.url}/jobs`,
      job({ repo: "app", source: { url: "file:///etc", defaultBranch: "main" } }),
    );
    expect(bad.status).toBe(400);
    const withToken = await post(
      `${env.url}/jobs`,
      job({ repo: "app", source: { url: `http://u:${TOKEN}@127.0.0.1/app.git`, defaultBranch: "main" } }),
    );
    expect(withToken.status).toBe(400);
    expect(await withToken.text()).not.toContain(TOKEN);
  });

  it("REPO_ALLOWLIST limits repos placed by hand, not clones of registered URLs", async () => {
    env = await deliveryEnv({ env: { REPO_ALLOWLIST: "demo" } });
    expect((await env.run("write:one.txt")).status).toBe("succeeded");
  });

  it("no credential in the clone (config, refs, logs) nor in any worktree; the credentials file is never rewritten", async () => {
    env = await deliveryEnv();
    const before = statSync(env.credentials).mtimeMs;
    const view = await env.run("write:one.txt");
    await env.deliver(view.jobId, { branch: "vault/t-1", mode: "push" });
    env.remote.setToken("rotated");
    await env.run("write:two.txt");
    await env.deliver(view.jobId, { branch: "vault/t-2", mode: "push" });
    expect(grepFiles(env.h.dir, TOKEN)).toEqual([]);
    expect(readFileSync(path.join(env.h.dir, "repos", "app", ".git", "config"), "utf8")).not.toMatch(/credential|@/);
    expect(statSync(env.credentials).mtimeMs).toBe(before);
    expect(readFileSync(env.credentials, "utf8")).toContain(TOKEN);
  });
});
