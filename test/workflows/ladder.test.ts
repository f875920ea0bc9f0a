/** The escalation ladder: the pure choices, then climbs, cooldowns and the human tier through real instances. */
import { env } from "cloudflare:workers";
import type { Rung } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { chooseProfile, firstUsable, HUMAN, nextProfile } from "../../workflows/ladder.ts";
import { escalate } from "../../workflows/steps/escalate.ts";
import { coolDown, resetBetweenTests, runTo, stageRows, taskRow, useExecutor } from "./helpers.ts";

resetBetweenTests();

const LADDER: Rung[] = ["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus", "human"];
const none = new Set<string>();

describe("ladder (pure)", () => {
  it("auto starts at the first rung; a rung climbs to the next; the top goes to a human", () => {
    expect(chooseProfile(LADDER, { profile: "auto", forced: false }, none)).toEqual({
      profile: "deepseek",
      skipped: [],
    });
    expect(nextProfile(LADDER, "deepseek", none)).toEqual({ profile: "gemini-flash", skipped: [] });
    expect(nextProfile(LADDER, "consensus", none)).toEqual({ profile: HUMAN, skipped: [] });
    // A ladder configured without `human` still ends with one.
    expect(nextProfile(["sonnet", "opus"], "opus", none).profile).toBe(HUMAN);
    // An off-ladder profile runs as asked and escalates straight to a human.
    const short: Rung[] = ["sonnet", "opus", "human"];
    expect(firstUsable(short, "gemini-pro", none).profile).toBe("gemini-pro");
    expect(nextProfile(short, "gemini-pro", none).profile).toBe(HUMAN);
  });

  it("skips cooling rungs when the ladder picks, never a forced choice, never the human", () => {
    const cooling = new Set(["deepseek", "gemini-flash", "opus", "consensus"]);
    expect(chooseProfile(LADDER, { profile: "auto", forced: false }, cooling)).toEqual({
      profile: "gemini-pro",
      skipped: ["deepseek", "gemini-flash"],
    });
    expect(chooseProfile(LADDER, { profile: "deepseek", forced: true }, cooling)).toEqual({
      profile: "deepseek",
      skipped: [],
    });
    expect(nextProfile(LADDER, "sonnet", cooling)).toEqual({ profile: HUMAN, skipped: ["opus", "consensus"] });
    expect(chooseProfile(LADDER, { profile: "auto", forced: false }, new Set(LADDER)).profile).toBe(HUMAN);
  });

  it("escalate reads the cooldowns from model_stats", async () => {
    await coolDown("opus");
    await coolDown("consensus", Date.now() - 1); // expired
    expect(await escalate(env.DB, LADDER, "sonnet", Date.now())).toEqual({
      from: "sonnet",
      profile: "consensus",
      skipped: ["opus"],
    });
  });
});

describe("ExecuteWorkflow: the ladder", { timeout: 30_000 }, () => {
  it("climbs on a failed run and on a failed verify, then succeeds", async () => {
    useExecutor((profile) =>
      profile === "deepseek" ? { errorKind: "api" } : profile === "gemini-flash" ? { verifyFails: true } : {},
    );
    const { taskId, output } = await runTo({ profile: "auto", verify: ["npm", "test"] });
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status, s.error_kind])).toEqual([
      ["deepseek", "failed", "api"],
      ["gemini-flash", "failed", "verify"],
      ["gemini-pro", "succeeded", null],
    ]);
    expect(output).toMatchObject({ status: "succeeded", attempts: 3 });
    const verify = await env.DB.prepare("SELECT content FROM transcripts WHERE id = ?1")
      .bind(`${taskId}:2:verify`)
      .first("content");
    expect(verify).toBe("1 failing");
  });

  it("a CLI timeout fails the attempt (status timeout) and climbs from a pinned profile", async () => {
    useExecutor((profile) => (profile === "sonnet" ? { errorKind: "timeout" } : {}));
    const { taskId } = await runTo({ profile: "sonnet" });
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["sonnet", "timeout"],
      ["opus", "succeeded"],
    ]);
  });

  it("auto skips a profile in cooldown", async () => {
    useExecutor(() => ({}));
    await coolDown("deepseek");
    const { taskId } = await runTo({ profile: "auto" });
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["gemini-flash"]);
  });

  it("a pinned profile runs even in cooldown (an explicit choice); escalation skips cooling rungs", async () => {
    useExecutor((profile) => (profile === "sonnet" ? { errorKind: "api" } : {}));
    await coolDown("sonnet");
    await coolDown("opus");
    const { taskId } = await runTo({ profile: "sonnet" });
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["sonnet", "consensus"]);
  });

  it("three consecutive failed runs start a 30 min cooldown; a success clears it", async () => {
    useExecutor((profile) => (profile === "opus" ? {} : { errorKind: "api" }));
    for (let i = 0; i < 3; i++) await runTo({ profile: "sonnet" });
    const row = await env.DB.prepare(
      "SELECT consecutive_failures, cooldown_until FROM model_stats WHERE profile = 'sonnet'",
    ).first<{ consecutive_failures: number; cooldown_until: number }>();
    expect(row?.consecutive_failures).toBe(3);
    expect(row?.cooldown_until).toBeGreaterThan(Date.now() + 29 * 60_000);
    expect(row?.cooldown_until).toBeLessThanOrEqual(Date.now() + 30 * 60_000);
    useExecutor(() => ({}));
    await runTo({ profile: "sonnet" }); // pinned: runs although cooling, and succeeds
    const after = await env.DB.prepare(
      "SELECT consecutive_failures, cooldown_until FROM model_stats WHERE profile = 'sonnet'",
    ).first();
    expect(after).toEqual({ consecutive_failures: 0, cooldown_until: null });
  });
});

describe("ExecuteWorkflow: the human tier", { timeout: 30_000 }, () => {
  const allFail = () => ({ errorKind: "api" as const });

  it("needs_human at the top; a human retry runs the chosen profile (even cooling) with the instructions", async () => {
    const fake = useExecutor((profile, attempt) => (attempt === 3 && profile === "deepseek" ? {} : allFail()));
    await coolDown("deepseek");
    const { taskId, output } = await runTo({ profile: "opus" }, (m) =>
      m.mockEvent({
        type: "human",
        payload: { decision: "retry", profile: "deepseek", instructions: "use node:fs", actor: "alice" },
      }),
    );
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["opus", "consensus", "deepseek"]);
    expect(output).toMatchObject({ status: "succeeded", attempts: 3 });
    expect(fake.jobs.get(`${taskId}:3`)?.request.prompt).toContain("Instructions from the reviewer:\nuse node:fs");
  });

  it("approve → succeeded as is; reject → failed", async () => {
    useExecutor(allFail);
    const approved = await runTo({ profile: "consensus" }, (m) =>
      m.mockEvent({ type: "human", payload: { decision: "approve", actor: "alice" } }),
    );
    expect(await taskRow(approved.taskId)).toMatchObject({ status: "succeeded", error: null });
    expect((await taskRow(approved.taskId)).result).toContain("failed consensus");
    const rejected = await runTo({ profile: "consensus" }, (m) =>
      m.mockEvent({ type: "human", payload: { decision: "reject", actor: "bob" } }),
    );
    expect(await taskRow(rejected.taskId)).toMatchObject({ status: "failed", error: "rejected by bob" });
  });

  it("no answer in time → ends needs_human", async () => {
    useExecutor(allFail);
    const { taskId, output } = await runTo({ profile: "opus" }, (m) => m.forceEventTimeout({ name: "human #1" }));
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["opus", "consensus"]);
    expect(output).toMatchObject({ status: "needs_human" });
    expect((await taskRow(taskId)).status).toBe("needs_human");
  });
});
