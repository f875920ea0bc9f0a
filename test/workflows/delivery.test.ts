/**
 * Delivery in workerd: a task on a repo registered by URL sends its source, records its base, and
 * its succeeded attempt is delivered by `deliver #n` (push, pull request) with the fake executor's
 * remote keeping what was pushed. The step is idempotent (a retried step, or one whose answer was
 * lost after the pull request was opened, leaves one pull request), a failure leaves the task
 * succeeded with `delivery_failed`, and the Worker delivers again on its own.
 */
import { env } from "cloudflare:workers";
import { TaskDelivered, TaskDetail, TaskDiffPage, TaskState } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { saveRepo } from "../../worker/services/repos.ts";
import { api } from "../worker/mcp-client.ts";
import { expectEnded, flagsOf, resetBetweenTests, runTo, taskRow, useExecutor } from "./helpers.ts";

resetBetweenTests();

let n = 0;
/** A repo registered by URL, under a name of its own per test. */
async function repo(deliver: "none" | "push" | "pr", github: string | null = "octo-org/app"): Promise<string> {
  const name = `app-${++n}`;
  await saveRepo(
    env.DB,
    {
      name,
      url: `https://git.example.com/octo-org/${name}.git`,
      defaultBranch: "main",
      deliver,
      ...(github ? { github } : {}),
    },
    Date.now(),
  );
  return name;
}

const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

describe("delivery: the deliver step", { timeout: 30_000 }, () => {
  it("dispatch sends the source; deliver pr pushes vault/<taskId> and opens one pull request", async () => {
    const fake = useExecutor(() => ({ costUsd: 0.02 }));
    const name = await repo("pr");
    const ran = await runTo({ repo: name, profile: "sonnet", verify: ["npm", "test"] });
    await expectEnded(ran, "succeeded");
    const { taskId } = ran;
    const request = [...fake.jobs.values()][0]?.request;
    expect(request?.source).toEqual({ url: `https://git.example.com/octo-org/${name}.git`, defaultBranch: "main" });
    const url = `https://git.example.com/octo-org/${name}.git`;
    expect(fake.remote.branch({ url }, `vault/${taskId}`)).toBe("0123456789abcdef0123456789abcdef01234567");
    expect(fake.remote.pulls).toMatchObject([
      { number: 1, github: "octo-org/app", head: `vault/${taskId}`, title: "Create hello.txt", state: "open" },
    ]);
    const body = fake.remote.pulls[0]?.body ?? "";
    expect(body).toContain(`\`${taskId}\``);
    expect(body).toMatch(/```mermaid\nflowchart/);
    expect(body).toContain("- Profiles: sonnet (succeeded)");
    expect(body).toContain("- Cost: $0.0200");
    const state = TaskState.parse(await json(await api(`/api/tasks/${taskId}/state`)));
    expect(state.change).toEqual({
      deliver: "pr",
      branch: `vault/${taskId}`,
      commit: "0123456789abcdef0123456789abcdef01234567",
      files: 1,
      added: 1,
      deleted: 0,
      delivery: "delivered",
      prUrl: "https://github.com/octo-org/app/pull/1",
      deliveryError: null,
    });
    const detail = TaskDetail.parse(await json(await api(`/api/tasks/${taskId}`)));
    expect(detail.stages[0]).toMatchObject({ baseCommit: "ba5e".padEnd(40, "0"), baseFresh: true, baseNote: null });
    expect(detail.task).toMatchObject({ prNumber: 1, delivery: "delivered", deliver: "pr" });
  });

  it("a step whose answer was lost after the PR was opened is retried: still one pull request", async () => {
    const fake = useExecutor(() => ({}));
    fake.remote.loseDeliverAnswers(1);
    const name = await repo("pr");
    const ran = await runTo({ repo: name, profile: "sonnet" });
    await expectEnded(ran, "succeeded");
    expect(fake.remote.calls.filter((c) => c.startsWith("deliver "))).toHaveLength(2);
    expect(fake.remote.pulls).toHaveLength(1);
    expect(await taskRow(ran.taskId)).toMatchObject({ status: "succeeded" });
    expect(await flagsOf(ran.taskId)).toEqual([]);
  });

  it("'deliver #1' failing once: retried, one pull request, delivered", async () => {
    const fake = useExecutor(() => ({}));
    const name = await repo("pr");
    const ran = await runTo({ repo: name, profile: "sonnet" }, (m) =>
      m.mockStepError({ name: "deliver #1" }, new Error("injected once"), 1),
    );
    await expectEnded(ran, "succeeded");
    expect(fake.remote.pulls).toHaveLength(1);
    const row = await env.DB.prepare("SELECT delivery, pr_number FROM tasks WHERE id = ?1").bind(ran.taskId).first();
    expect(row).toEqual({ delivery: "delivered", pr_number: 1 });
  });

  it("an unreachable remote (delivery_network) is retried until it answers", async () => {
    const fake = useExecutor(() => ({}));
    fake.remote.failDeliveries("delivery_network", 2);
    const name = await repo("push");
    const ran = await runTo({ repo: name, profile: "sonnet" });
    await expectEnded(ran, "succeeded");
    expect(fake.remote.calls.filter((c) => c.startsWith("deliver "))).toHaveLength(3);
    expect(fake.remote.pulls).toEqual([]);
    expect(await flagsOf(ran.taskId)).toEqual([]);
  });

  it("refused credentials are final: succeeded + delivery_failed; the Worker delivers again once fixed", async () => {
    const fake = useExecutor(() => ({}));
    fake.remote.failDeliveries("delivery_auth");
    const name = await repo("pr");
    const ran = await runTo({ repo: name, profile: "sonnet" });
    await expectEnded(ran, "succeeded");
    const { taskId } = ran;
    expect(fake.remote.calls.filter((c) => c.startsWith("deliver "))).toHaveLength(1);
    expect(await flagsOf(taskId)).toEqual(["delivery_failed"]);
    const state = TaskState.parse(await json(await api(`/api/tasks/${taskId}/state`)));
    expect(state.status).toBe("succeeded");
    expect(state.change?.delivery).toBe("failed");
    expect(state.change?.deliveryError).toMatch(/fake delivery_auth: fix it.*vault deliver/);
    expect(state.change?.branch).toBe(`vault/${taskId}:1`);

    // Still refused: 502 with what to fix, and the flag stays.
    const again = await api(`/api/tasks/${taskId}/deliver`, { method: "POST", body: "{}" });
    expect(again.status).toBe(502);
    expect(await again.text()).toContain("delivery_failed");

    fake.remote.failDeliveries("delivery_auth", 0);
    const res = await api(`/api/tasks/${taskId}/deliver`, { method: "POST", body: "{}" });
    expect(res.status, await res.clone().text()).toBe(200);
    const out = TaskDelivered.parse(await res.json());
    expect(out.change).toMatchObject({ delivery: "delivered", branch: `vault/${taskId}`, deliveryError: null });
    expect(fake.remote.pulls).toHaveLength(1);
    expect(await flagsOf(taskId)).toEqual([]);
  });

  it("an attempt that changed nothing has nothing to deliver; an unregistered repo sends no source", async () => {
    const fake = useExecutor(() => ({ noChange: true }));
    const name = await repo("pr");
    const nothing = await runTo({ repo: name, profile: "sonnet" });
    await expectEnded(nothing, "succeeded");
    expect(fake.remote.calls).toEqual([]);
    const handPlaced = await runTo({ repo: "demo", profile: "sonnet" });
    await expectEnded(handPlaced, "succeeded");
    const requests = [...fake.jobs.values()].map((j) => j.request);
    expect(requests.find((r) => r.repo === "demo")?.source).toBeUndefined();
  });

  it("a stale base is stored with a note saying how old it was and why", async () => {
    useExecutor(() => ({ staleBase: true }));
    const name = await repo("none");
    const ran = await runTo({ repo: name, profile: "sonnet" });
    await expectEnded(ran, "succeeded");
    const detail = TaskDetail.parse(await json(await api(`/api/tasks/${ran.taskId}`)));
    expect(detail.stages[0]?.baseFresh).toBe(false);
    expect(detail.stages[0]?.baseNote).toMatch(
      /^stale base: ran on main @ ba5e00000000 fetched 3 h before the job started, because fetch of main failed/,
    );
    // deliver none: the change stays on the executor's branch.
    expect(detail.task).toMatchObject({ deliver: "none", branch: `vault/${ran.taskId}:1`, delivery: null });
  });
});

describe("delivery: execute's deliver, diff and discard", { timeout: 30_000 }, () => {
  it("deliver on a repo that is not registered, or pr without github, is refused before anything starts", async () => {
    useExecutor(() => ({}));
    const r1 = await api("/api/execute", {
      method: "POST",
      body: JSON.stringify({ prompt: "x", repo: "demo", deliver: "push", waitSeconds: 0 }),
    });
    expect(r1.status).toBe(400);
    expect(await r1.text()).toContain("vault repos add demo");
    const name = await repo("push", null);
    const r2 = await api("/api/execute", {
      method: "POST",
      body: JSON.stringify({ prompt: "x", repo: name, deliver: "pr", waitSeconds: 0 }),
    });
    expect(r2.status).toBe(400);
    expect(await r2.text()).toContain("--github OWNER/REPO");
  });

  it("the diff comes in pages ≤ 64 KiB that add up to the whole; side b only for consensus", async () => {
    const fake = useExecutor(() => ({}));
    const whole = Array.from({ length: 4000 }, (_, i) => `+line ${i} ${"x".repeat(40)}\n`).join("");
    fake.remote.diffOf = () => whole;
    const name = await repo("none");
    const ran = await runTo({ repo: name, profile: "sonnet" });
    let cursor: string | null = null;
    let text = "";
    let pages = 0;
    do {
      const q: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
      const res = await api(`/api/tasks/${ran.taskId}/diff${q}`);
      expect(res.status, await res.clone().text()).toBe(200);
      const page = TaskDiffPage.parse(await res.json());
      expect(new TextEncoder().encode(page.text).byteLength).toBeLessThanOrEqual(64 * 1024);
      expect(page.stat === null).toBe(pages > 0);
      expect(page.sides).toEqual(["a"]);
      text += page.text;
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBeGreaterThan(2);
    expect(text).toBe(whole);
    const b = await api(`/api/tasks/${ran.taskId}/diff?side=b`);
    expect(b.status).toBe(400);
    expect(await b.text()).toContain("side");
  });

  it("close with discard closes the PR and deletes the branch; a plain close leaves both", async () => {
    const fake = useExecutor(() => ({}));
    const name = await repo("pr");
    const url = `https://git.example.com/octo-org/${name}.git`;
    const kept = await runTo({ repo: name, profile: "sonnet" });
    const thrown = await runTo({ repo: name, profile: "sonnet" });
    const close = (id: string, body: object) =>
      api(`/api/tasks/${id}/close`, { method: "POST", body: JSON.stringify(body) });
    expect((await close(kept.taskId, {})).status).toBe(200);
    expect((await close(thrown.taskId, { discard: true })).status).toBe(200);
    expect(fake.remote.branch({ url }, `vault/${kept.taskId}`)).not.toBeNull();
    expect(fake.remote.branch({ url }, `vault/${thrown.taskId}`)).toBeNull();
    expect(fake.remote.pulls.map((p) => [p.head, p.state])).toEqual([
      [`vault/${kept.taskId}`, "open"],
      [`vault/${thrown.taskId}`, "closed"],
    ]);
    expect(await taskRow(thrown.taskId)).toMatchObject({ status: "closed" });
    const row = await env.DB.prepare("SELECT delivery FROM tasks WHERE id = ?1").bind(thrown.taskId).first();
    expect(row).toEqual({ delivery: "discarded" });
  });
});
