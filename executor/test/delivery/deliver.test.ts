/**
 * POST /jobs/:id/deliver and /discard against a real git remote over smart HTTP and the GitHub
 * stand-in (every request checked against GitHub's description). The agent is the fake claude CLI.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { DeliverResult, DiscardResult, WireError } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { type DeliveryEnv, deliveryEnv, OWNER, prBody, TOKEN } from "./helpers.ts";

let env: DeliveryEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

async function succeeded(e: DeliveryEnv, prompt = "write:hello.txt") {
  const view = await e.run(prompt);
  expect(view.status, JSON.stringify(view.result?.run.error)).toBe("succeeded");
  return view;
}

describe("deliver", () => {
  it("pushes the job's commit to vault/<task> and opens a pull request; the remote branch holds the agent's file", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    const res = await env.deliver(view.jobId, prBody("vault/t-1"));
    const out = DeliverResult.parse(await res.json());
    expect(res.status).toBe(200);
    expect(out).toMatchObject({ branch: "vault/t-1", commit: view.result?.commit, pushed: true, pr: { number: 1 } });
    expect(env.remote.sha("app", "vault/t-1")).toBe(view.result?.commit);
    expect(env.remote.show("app", "vault/t-1", "hello.txt")).toBe("hello\n");
    expect(env.gh.pulls()).toMatchObject([
      { number: 1, state: "open", head: "vault/t-1", base: "main", owner: OWNER, repo: "app", title: "Add hello.txt" },
    ]);
    expect(out.pr?.url).toContain("/pull/1");
    // The default branch is untouched.
    expect(env.remote.sha("app", "main")).toBe(view.result?.base?.commit);
  });

  it("is idempotent: delivering again pushes nothing new and updates the same pull request", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    await env.deliver(view.jobId, prBody("vault/t-2"));
    const res = await env.deliver(view.jobId, prBody("vault/t-2", "Add hello.txt (v2)"));
    expect(res.status).toBe(200);
    expect(DeliverResult.parse(await res.json()).pr?.number).toBe(1);
    expect(env.gh.pulls()).toHaveLength(1);
    expect(env.gh.pulls()[0]?.title).toBe("Add hello.txt (v2)");
  });

  it("a later attempt's commit replaces the branch it pushed before (force, with a lease)", async () => {
    env = await deliveryEnv();
    const first = await succeeded(env, "write:one.txt");
    const second = await succeeded(env, "write:two.txt");
    await env.deliver(first.jobId, prBody("vault/t-3"));
    const res = await env.deliver(second.jobId, prBody("vault/t-3"));
    expect(res.status).toBe(200);
    expect(env.remote.sha("app", "vault/t-3")).toBe(second.result?.commit);
    expect(env.gh.pulls()).toHaveLength(1);
  });

  it("GitHub drops its answer after creating the pull request: still exactly one, and the delivery succeeds", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    env.gh.dropAnswers("pulls/create", 1);
    const res = await env.deliver(view.jobId, prBody("vault/t-4"));
    const out = DeliverResult.parse(await res.json());
    expect(out.pr?.number).toBe(1);
    expect(env.gh.pulls()).toHaveLength(1);
    expect(env.gh.requests().filter((r) => r.operationId === "pulls/create")).toMatchObject([{ status: -1 }]);
    // And a retried delivery (the Worker's step retry) still finds that one.
    const again = DeliverResult.parse(await (await env.deliver(view.jobId, prBody("vault/t-4"))).json());
    expect(again.pr?.number).toBe(1);
    expect(env.gh.pulls()).toHaveLength(1);
  });

  it("mode push: the branch is pushed, no pull request is looked for", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    const res = await env.deliver(view.jobId, { branch: "vault/t-5", mode: "push" });
    expect(DeliverResult.parse(await res.json())).toMatchObject({ pushed: true, pr: null });
    expect(env.remote.sha("app", "vault/t-5")).toBe(view.result?.commit);
    expect(env.gh.requests()).toHaveLength(0);
  });

  it("a wrong token → delivery_auth saying what to fix (never the token); after fixing the file a retry succeeds", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    env.writeCredentials("ghp_wrongToken000000000000000000000000");
    const res = await env.deliver(view.jobId, prBody("vault/t-6"));
    const err = WireError.parse(await res.json());
    expect(res.status).toBe(502);
    expect(err.error.code).toBe("delivery_auth");
    expect(err.error.message).toContain(env.credentials);
    expect(err.error.message).toContain(env.remote.host);
    expect(err.error.message).not.toContain("ghp_wrong");
    expect(env.remote.sha("app", "vault/t-6")).toBeNull();
    // The helper never erases a refused line: the operator's file is as they wrote it.
    expect(readFileSync(env.credentials, "utf8")).toContain("ghp_wrongToken");
    env.writeCredentials(TOKEN);
    const retry = await env.deliver(view.jobId, prBody("vault/t-6"));
    expect(retry.status).toBe(200);
    expect(env.gh.pulls()).toHaveLength(1);
  });

  it("GitHub refusing the token (push accepted) → delivery_auth; the branch stays pushed and a retry opens the PR", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    env.gh.setToken("another-token-entirely");
    const res = await env.deliver(view.jobId, prBody("vault/t-7"));
    expect(res.status).toBe(502);
    expect(WireError.parse(await res.json()).error).toMatchObject({ code: "delivery_auth" });
    expect(env.remote.sha("app", "vault/t-7")).toBe(view.result?.commit);
    env.gh.setToken(TOKEN);
    expect((await env.deliver(view.jobId, prBody("vault/t-7"))).status).toBe(200);
    expect(env.gh.pulls()).toHaveLength(1);
  });

  it("an unreachable GitHub → delivery_network", async () => {
    env = await deliveryEnv({ env: { GITHUB_API_URL: "http://127.0.0.1:9" } });
    const view = await succeeded(env);
    const res = await env.deliver(view.jobId, prBody("vault/t-8"));
    expect(res.status).toBe(502);
    expect(WireError.parse(await res.json()).error.code).toBe("delivery_network");
  });

  it("never overwrites a branch it did not push: delivery_refused, the remote branch untouched", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    const theirs = env.remote.commit("app", { "theirs.txt": "someone else's work\n" }, { branch: "vault/t-9" });
    const res = await env.deliver(view.jobId, prBody("vault/t-9"));
    expect(res.status).toBe(409);
    expect(WireError.parse(await res.json()).error.code).toBe("delivery_refused");
    expect(env.remote.sha("app", "vault/t-9")).toBe(theirs);
    // Nor commits added on top of what it pushed.
    await env.deliver(view.jobId, { branch: "vault/t-10", mode: "push" });
    const added = env.remote.commit("app", { "review.txt": "a reviewer's fix\n" }, { branch: "vault/t-10" });
    const other = await succeeded(env, "write:other.txt");
    const res2 = await env.deliver(other.jobId, { branch: "vault/t-10", mode: "push" });
    expect(res2.status).toBe(409);
    expect(env.remote.sha("app", "vault/t-10")).toBe(added);
  });

  it("a push the remote took before the executor recorded it (it stopped in between) is still its own", async () => {
    env = await deliveryEnv();
    const first = await succeeded(env, "write:one.txt");
    const second = await succeeded(env, "write:two.txt");
    await env.deliver(first.jobId, { branch: "vault/t-15", mode: "push" });
    const repo = path.join(env.h.dir, "repos", "app");
    const git = (...a: string[]) => execFileSync("git", ["-C", repo, ...a], { encoding: "utf8" });
    // As if it stopped after the push: the commit noted as being pushed, not yet recorded as pushed.
    git("update-ref", "refs/vault/delivering/vault/t-15", String(first.result?.commit));
    git("update-ref", "-d", "refs/vault/delivered/vault/t-15");
    const res = await env.deliver(second.jobId, { branch: "vault/t-15", mode: "push" });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(env.remote.sha("app", "vault/t-15")).toBe(second.result?.commit);
    // With no note at all, the same tip is someone else's.
    git("update-ref", "-d", "refs/vault/delivered/vault/t-15");
    const third = await succeeded(env, "write:three.txt");
    expect((await env.deliver(third.jobId, { branch: "vault/t-15", mode: "push" })).status).toBe(409);
  });

  it("refuses what is not deliverable: a failed job, a job of a repo placed by hand, a bad branch", async () => {
    env = await deliveryEnv();
    const failed = await env.run("fail");
    expect(failed.status).toBe("failed");
    const r1 = await env.deliver(failed.jobId, prBody("vault/t-11"));
    expect([r1.status, WireError.parse(await r1.json()).error.code]).toEqual([409, "not_deliverable"]);
    const byHand = await (
      await fetch(`${env.url}/execute`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-auth-token": "executor-secret-0123456789" },
        body: JSON.stringify({ jobKey: "by-hand", profile: "sonnet", prompt: "write:x.txt", repo: "demo" }),
      })
    ).json();
    const r2 = await env.deliver((byHand as { jobId: string }).jobId, prBody("vault/t-12"));
    expect([r2.status, WireError.parse(await r2.json()).error.code]).toEqual([409, "not_deliverable"]);
    const ok = await succeeded(env);
    for (const branch of ["main", "feature/x", "vault/../main", "vault/a/b"]) {
      const r = await env.deliver(ok.jobId, { branch, mode: "push" });
      expect(r.status, branch).toBe(400);
    }
    const r3 = await env.deliver(ok.jobId, { branch: "vault/t-13", mode: "pr" });
    expect(r3.status).toBe(400);
    expect(env.remote.sha("app", "vault/t-13")).toBeNull();
    expect((await env.deliver("j-nope", prBody("vault/t-14"))).status).toBe(404);
  });
});

describe("discard", () => {
  it("closes the pull request and deletes the branch; discarding again is a no-op", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    await env.deliver(view.jobId, prBody("vault/t-20"));
    const res = await env.discard(view.jobId, { branch: "vault/t-20", github: `${OWNER}/app` });
    expect(DiscardResult.parse(await res.json())).toEqual({
      branch: "vault/t-20",
      branchDeleted: true,
      prsClosed: [1],
    });
    expect(env.gh.pulls()[0]?.state).toBe("closed");
    expect(env.remote.sha("app", "vault/t-20")).toBeNull();
    const again = await env.discard(view.jobId, { branch: "vault/t-20", github: `${OWNER}/app` });
    expect(DiscardResult.parse(await again.json())).toEqual({
      branch: "vault/t-20",
      branchDeleted: false,
      prsClosed: [],
    });
    // Delivering again after a discard makes the branch anew.
    expect((await env.deliver(view.jobId, { branch: "vault/t-20", mode: "push" })).status).toBe(200);
    expect(env.remote.sha("app", "vault/t-20")).toBe(view.result?.commit);
  });

  it("leaves a branch with commits it did not push", async () => {
    env = await deliveryEnv();
    const view = await succeeded(env);
    await env.deliver(view.jobId, { branch: "vault/t-21", mode: "push" });
    const added = env.remote.commit("app", { "review.txt": "fix\n" }, { branch: "vault/t-21" });
    const res = await env.discard(view.jobId, { branch: "vault/t-21" });
    expect([res.status, WireError.parse(await res.json()).error.code]).toEqual([409, "delivery_refused"]);
    expect(env.remote.sha("app", "vault/t-21")).toBe(added);
  });
});
