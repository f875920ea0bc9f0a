/**
 * The session-log readers and the tracker that follows them: the line formats are the ones the real
 * CLIs write (test/clis/real-budget.test.ts runs them for real); here the edge cases a live file has.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPrices, priceUsage } from "../../src/pricing.ts";
import { CLAUDE_USAGE_LOG, CODEX_USAGE_LOG, GEMINI_USAGE_LOG } from "../../src/usage/session-logs.ts";
import { UsageTracker, watchBudget } from "../../src/usage/tracker.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "vault-usage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const home = () => path.join(dir, `h${++n}`);
const append = (file: string, text: string) => {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, text);
};
const claudeLine = (id: string, model: string, input: number, output: number) =>
  `${JSON.stringify({
    type: "assistant",
    message: {
      id,
      model,
      usage: {
        input_tokens: input,
        output_tokens: output,
        cache_read_input_tokens: 10,
        cache_creation_input_tokens: 5,
      },
    },
  })}\n`;

describe("UsageTracker", () => {
  it("claude: one record per message id (the last wins), API-error lines skipped, a torn line waits for its end", async () => {
    const h = home();
    const file = path.join(h, ".claude", "projects", "-repo", "s.jsonl");
    const t = new UsageTracker(CLAUDE_USAGE_LOG, h, "sonnet");
    expect(await t.poll()).toEqual([]);
    append(file, claudeLine("m1", "claude-sonnet-5-5", 100, 1));
    append(file, claudeLine("m1", "claude-sonnet-5-5", 100, 40)); // the same response, complete
    append(file, claudeLine("e1", "<synthetic>", 999, 999));
    append(file, '{"type":"api-request-blob","body":"{\\"type\\":\\"assistant\\"}"}\n');
    const half = claudeLine("m2", "claude-haiku-5-5", 7, 3);
    append(file, half.slice(0, 20));
    expect(await t.poll()).toEqual([
      { model: "claude-sonnet-5-5", tokens: { input: 100, output: 40, cacheRead: 10, cacheWrite: 5 } },
    ]);
    append(file, half.slice(20));
    expect(await t.poll()).toEqual([
      { model: "claude-sonnet-5-5", tokens: { input: 100, output: 40, cacheRead: 10, cacheWrite: 5 } },
      { model: "claude-haiku-5-5", tokens: { input: 7, output: 3, cacheRead: 10, cacheWrite: 5 } },
    ]);
  });

  it("codex: the last cumulative token_count of the rollout, cached tokens out of input, the turn's model", async () => {
    const h = home();
    const file = path.join(h, ".codex", "sessions", "2026", "12", "01", "rollout-x.jsonl");
    const count = (input: number, cached: number, output: number) =>
      `${JSON.stringify({
        type: "event_msg",
        payload: {
          type: "token_count",
          info: { total_token_usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output } },
        },
      })}\n`;
    append(file, `${JSON.stringify({ type: "turn_context", payload: { model: "gpt-5.5" } })}\n`);
    append(file, count(1200, 300, 34));
    append(file, count(2400, 600, 68));
    append(path.join(h, ".codex", "sessions", "other.jsonl"), count(9, 9, 9)); // not a rollout
    const usage = await new UsageTracker(CODEX_USAGE_LOG, h, "m").poll();
    expect(usage).toEqual([{ model: "gpt-5.5", tokens: { input: 1800, output: 68, cacheRead: 600, cacheWrite: 0 } }]);
    expect(priceUsage(loadPrices(), usage).costUsd).toBeCloseTo((1800 * 1.25 + 68 * 10 + 600 * 0.125) / 1e6, 10);
  });

  it("gemini: records by id, thoughts billed as output", async () => {
    const h = home();
    const file = path.join(h, ".gemini", "tmp", "repo", "chats", "session-1.jsonl");
    const rec = (id: string, input: number) =>
      `${JSON.stringify({ id, type: "gemini", model: "gemini-2.5-flash", tokens: { input, output: 30, cached: 100, thoughts: 7 } })}\n`;
    append(
      file,
      `${JSON.stringify({ id: "u", type: "user", content: [] })}\n${rec("a", 1000)}${rec("a", 1000)}${rec("b", 500)}`,
    );
    expect(await new UsageTracker(GEMINI_USAGE_LOG, h, "m").poll()).toEqual([
      { model: "gemini-2.5-flash", tokens: { input: 1300, output: 74, cacheRead: 200, cacheWrite: 0 } },
    ]);
  });

  it("watchBudget calls back once when the priced usage passes the budget, and reports the cost at stop()", async () => {
    const h = home();
    const file = path.join(h, ".claude", "projects", "-repo", "s.jsonl");
    const t = new UsageTracker(CLAUDE_USAGE_LOG, h, "sonnet");
    const calls: number[] = [];
    const m = watchBudget({
      tracker: t,
      prices: loadPrices(),
      budgetUsd: 1,
      onOver: (c) => calls.push(c),
      onPollFailed: (err) => {
        throw err;
      },
      everyMs: 10,
    });
    append(file, claudeLine("m1", "claude-sonnet-5-5", 150_000, 0)); // $0.30
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toEqual([]);
    append(file, claudeLine("m2", "claude-sonnet-5-5", 450_000, 0)); // $1.20 in all
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    append(file, claudeLine("m3", "claude-sonnet-5-5", 450_000, 0));
    await new Promise((r) => setTimeout(r, 60));
    const over = await m.stop();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeCloseTo(1.2 + (2 * (10 * 0.1 + 5 * 2.5)) / 1e6, 8);
    expect(over).toBe(calls[0]);
  });

  it("a log that is there but cannot be read rejects the poll (never reads as no usage); watchBudget reports it once", async () => {
    const h = home();
    // A directory where the session log should be: listed, opened, and its read fails (EISDIR), as
    // root too (permissions would not stop root).
    mkdirSync(path.join(h, ".gemini", "tmp", "repo", "chats", "session-1.jsonl"), { recursive: true });
    const t = new UsageTracker(GEMINI_USAGE_LOG, h, "m");
    await expect(t.poll()).rejects.toThrow(/EISDIR/);
    const failures: unknown[] = [];
    const m = watchBudget({
      tracker: t,
      prices: loadPrices(),
      budgetUsd: 1,
      onOver: () => undefined,
      onPollFailed: (err) => failures.push(err),
      everyMs: 5,
    });
    await new Promise((r) => setTimeout(r, 60));
    expect(await m.stop()).toBeNull();
    expect(failures).toHaveLength(1);
    // No log directory at all: no usage, no error.
    expect(await new UsageTracker(GEMINI_USAGE_LOG, home(), "m").poll()).toEqual([]);
  });
});
