/** claude 2.1.331 for real: see real-suite.ts. Plus DeepSeek's case: a model claude cannot price. */
import { describe, expect, it } from "vitest";
import { computeCost } from "../../src/pricing.ts";
import { prices, runReal } from "./real-harness.ts";
import { describeRealCli } from "./real-suite.ts";

describeRealCli("claude", {
  turn: { input: 1200, output: 34, cacheRead: 300, cacheWrite: 50 },
  // claude's own price list for claude-sonnet-5-5 (the figure in the captured fixture).
  turnCost: 0.002895,
  costSource: "reported",
  keyVar: "ANTHROPIC_API_KEY",
  down: { kind: "api", timeoutMs: 30_000 },
});

describe("claude with a model it cannot price (the deepseek profile)", () => {
  it("the cost comes from our price table, not claude's guess", async () => {
    const { run } = await runReal("claude", { scenario: "ok", model: "deepseek-chat" });
    expect(run.error, JSON.stringify(run.error)).toBeUndefined();
    expect(run).toMatchObject({ ok: true, model: "deepseek-chat", costSource: "computed" });
    // 1200 × $0.27 + 34 × $1.10 + 300 × $0.07 + 50 × $0.27 per million (claude itself guessed $0.00579).
    expect(run.costUsd).toBe(computeCost(prices, "deepseek-chat", run.tokens));
    expect(run.costUsd).toBeCloseTo((1200 * 0.27 + 34 * 1.1 + 300 * 0.07 + 50 * 0.27) / 1e6, 10);
  });
});
