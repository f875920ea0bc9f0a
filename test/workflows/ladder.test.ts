/** The escalation ladder: the pure choices, then climbs, cooldowns and the human tier through real instances. */
import { env } from "cloudflare:workers";
import type { Rung } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { HUMAN, nextRung, pick, type Readiness, type Standing } from "../../workflows/ladder.ts";
import {
  coolDown,
  expectEnded,
  resetBetweenTests,
  runTo,
  stageMessages,
  stageRows,
  taskRow,
  useExecutor,
} from "./helpers.ts";

resetBetweenTests();

const LADDER: Rung[] = ["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus", "human"];

const READY: Readiness = { missing: {}, direct: { claude: "sonnet", codex: "codex", gemini: "gemini-flash" } };
const NOW = Date.UTC(2026, 11, 1, 12, 0);
const standing = (over: Partial<Standing> = {}): Standing => ({ cooling: {}, aside: {}, ready: READY, ...over });
const auto = { from: "deepseek" as const, forced: false };

describe("ladder (pure)", () => {
  it("auto starts at the first rung; a rung climbs to the next; the top is the human", () => {
    expect(pick({ ladder: LADDER, wanted: auto, standing: standing(), climb: true, now: NOW })).toEqual({
      kind: "run",
      profile: "deepseek",
      passed: [],
    });
    expect(nextRung(LADDER, "deepseek")).toBe("gemini-flash");
    expect(nextRung(LADDER, "consensus")).toBe(HUMAN);
    // A ladder configured without `human` still ends with one; an off-ladder profile escalates to it.
    expect(nextRung(["sonnet", "opus"], "opus")).toBe(HUMAN);
    expect(nextRung(["sonnet", "opus", "human"], "gemini-pro")).toBe(HUMAN);
    expect(
      pick({ ladder: LADDER, wanted: { from: HUMAN, forced: false }, standing: standing(), climb: true, now: NOW }),
    ).toEqual({ kind: "top", passed: [] });
  });

  it("passes cooling rungs with the time they cool until; never a forced choice", () => {
    const cooling = { deepseek: NOW + 60_000, "gemini-flash": NOW + 120_000, opus: NOW + 1, consensus: NOW - 1 };
    expect(pick({ ladder: LADDER, wanted: auto, standing: standing({ cooling }), climb: true, now: NOW })).toEqual({
      kind: "run",
      profile: "gemini-pro",
      passed: [
        { profile: "deepseek", why: "cooling until 12:01 UTC after repeated failures", aside: false },
        { profile: "gemini-flash", why: "cooling until 12:02 UTC after repeated failures", aside: false },
      ],
    });
    expect(
      pick({
        ladder: LADDER,
        wanted: { from: "deepseek", forced: true },
        standing: standing({ cooling }),
        climb: true,
        now: NOW,
      }),
    ).toMatchObject({
      kind: "run",
      profile: "deepseek",
    });
    // An expired cooldown is no cooldown.
    expect(
      pick({
        ladder: LADDER,
        wanted: { from: "consensus", forced: false },
        standing: standing({ cooling }),
        climb: true,
        now: NOW,
      }),
    ).toMatchObject({
      profile: "consensus",
    });
  });

  it("a rung that is not ready is passed and put aside, even when forced; one put aside is not reported twice", () => {
    const ready = { ...READY, missing: { deepseek: "set DEEPSEEK_API_KEY", sonnet: "set ANTHROPIC_API_KEY" } };
    expect(pick({ ladder: LADDER, wanted: auto, standing: standing({ ready }), climb: true, now: NOW })).toEqual({
      kind: "run",
      profile: "gemini-flash",
      passed: [{ profile: "deepseek", why: "not ready: set DEEPSEEK_API_KEY", aside: true }],
    });
    const pinned = pick({
      ladder: LADDER,
      wanted: { from: "sonnet", forced: true },
      standing: standing({ ready }),
      climb: true,
      now: NOW,
    });
    expect(pinned).toEqual({
      kind: "run",
      profile: "opus",
      passed: [{ profile: "sonnet", why: "not ready: set ANTHROPIC_API_KEY", aside: true }],
    });
    const aside = { deepseek: "not ready: set DEEPSEEK_API_KEY" };
    expect(
      pick({ ladder: LADDER, wanted: auto, standing: standing({ ready, aside }), climb: true, now: NOW }).passed,
    ).toEqual([]);
  });

  it("without climbing (a direct run), a blocked profile ends the pick at the top", () => {
    const ready = { ...READY, missing: { codex: "run `codex login` as the service user" } };
    expect(
      pick({
        ladder: LADDER,
        wanted: { from: "codex", forced: true },
        standing: standing({ ready }),
        climb: false,
        now: NOW,
      }),
    ).toEqual({
      kind: "top",
      passed: [{ profile: "codex", why: "not ready: run `codex login` as the service user", aside: true }],
    });
  });

  it("nothing ready at all: every rung passed, the pick reaches the top", () => {
    const missing = Object.fromEntries(LADDER.filter((r) => r !== HUMAN).map((r) => [r, `set ${r.toUpperCase()}_KEY`]));
    const p = pick({
      ladder: LADDER,
      wanted: auto,
      standing: standing({ ready: { ...READY, missing } }),
      climb: true,
      now: NOW,
    });
    expect(p.kind).toBe("top");
    expect(p.passed.map((x) => x.profile)).toEqual([
      "deepseek",
      "gemini-flash",
      "gemini-pro",
      "sonnet",
      "opus",
      "consensus",
    ]);
  });
});

describe("ExecuteWorkflow: the ladder", { timeout: 30_000 }, () => {
  it("climbs on a failed run and on a failed verify, then succeeds", async () => {
    useExecutor((profile) =>
      profile === "deepseek" ? { errorKind: "api" } : profile === "gemini-flash" ? { verifyFails: true } : {},
    );
    const ran = await runTo({ profile: "auto", verify: ["npm", "test"] });
    const { taskId } = ran;
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status, s.error_kind])).toEqual([
      ["deepseek", "failed", "api"],
      ["gemini-flash", "failed", "verify"],
      ["gemini-pro", "succeeded", null],
    ]);
    await expectEnded(ran, "succeeded");
    expect(ran.output).toMatchObject({ status: "succeeded", attempts: 3 });
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
    // The passed rung is on record, with why.
    expect(await stageMessages(taskId)).toEqual([
      ["deepseek", "skipped", expect.stringMatching(/^cooling until \d\d:\d\d UTC after repeated failures$/)],
      ["gemini-flash", "succeeded", null],
    ]);
  });

  it("a pinned profile runs even in cooldown (an explicit choice); escalation skips cooling rungs", async () => {
    useExecutor((profile) => (profile === "sonnet" ? { errorKind: "api" } : {}));
    await coolDown("sonnet");
    await coolDown("opus");
    const { taskId } = await runTo({ profile: "sonnet" });
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["sonnet", "failed"],
      ["opus", "skipped"],
      ["consensus", "succeeded"],
    ]);
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
    const ran = await runTo({ profile: "opus" }, (m) =>
      m.mockEvent({
        type: "human-1",
        payload: { decision: "retry", profile: "deepseek", instructions: "use node:fs", actor: "alice" },
      }),
    );
    const { taskId } = ran;
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["opus", "consensus", "deepseek"]);
    await expectEnded(ran, "succeeded");
    expect(ran.output).toMatchObject({ status: "succeeded", attempts: 3 });
    expect(fake.jobs.get(`${taskId}:3`)?.request.prompt).toContain("Instructions from the reviewer:\nuse node:fs");
  });

  it("approve → succeeded as is; reject → failed", async () => {
    useExecutor(allFail);
    const approved = await runTo({ profile: "consensus" }, (m) =>
      m.mockEvent({ type: "human-1", payload: { decision: "approve", actor: "alice" } }),
    );
    expect(await taskRow(approved.taskId)).toMatchObject({ status: "succeeded", error: null });
    expect((await taskRow(approved.taskId)).result).toContain("failed consensus");
    const rejected = await runTo({ profile: "consensus" }, (m) =>
      m.mockEvent({ type: "human-1", payload: { decision: "reject", actor: "bob" } }),
    );
    expect(await taskRow(rejected.taskId)).toMatchObject({ status: "failed", error: "rejected by bob" });
  });

  it("no answer in time → ends needs_human", async () => {
    useExecutor(allFail);
    const ran = await runTo({ profile: "opus" }, (m) => m.forceEventTimeout({ name: "human #1" }));
    const { taskId } = ran;
    expect((await stageRows(taskId)).map((s) => s.profile)).toEqual(["opus", "consensus"]);
    await expectEnded(ran, "needs_human");
    expect((await taskRow(taskId)).status).toBe("needs_human");
  });
});
