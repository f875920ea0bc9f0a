import fc from "fast-check";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { progressMermaid } from "../../src/compress/progress.ts";
import { hostile } from "./hostile.ts";
import { expectFlowchart } from "./mermaid-parse.ts";

const TASK = "7f3a9c2e-1b4d-4e8f-9a0b-123456789abc";

describe("progressMermaid", () => {
  it("shows task, step and attempt with profile, in a few tokens", async () => {
    const m = progressMermaid(TASK, "verify", 2, "sonnet");
    expect(m).toBe(`flowchart LR\n  T["task ${TASK}"] --> S(["verify"]) --> A["attempt 2 sonnet"]`);
    expect(encode(m).length).toBeLessThan(60);
    await expectFlowchart(m);
  });

  it("before a profile is picked, only task and step", async () => {
    const m = progressMermaid(TASK, "queued", 0, null);
    expect(m).not.toContain("attempt");
    await expectFlowchart(m);
  });

  it("an attempt that is not a positive integer shows as 1", () => {
    for (const n of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(progressMermaid("t", "running", n, "opus")).toContain("attempt 1 opus");
  });

  it("stays valid and small whatever the strings", async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, fc.integer(), fc.option(hostile), async (taskId, step, attempt, profile) => {
        const m = progressMermaid(taskId, step, attempt, profile);
        await expectFlowchart(m);
        expect(encode(m).length).toBeLessThan(130);
      }),
      { numRuns: 150 },
    );
  });
});
