import { describe, expect, it } from "vitest";
import { answerSimilarity, compareRuns } from "../../src/consensus.ts";
import type { ConsensusSide } from "../../src/interfaces.ts";
import { failing, passing, run } from "./fixtures.ts";
import { parseMermaid } from "./mermaid-parse.ts";

const diff = (body: string) => `diff --git a/x b/x\nindex 1..2\n--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n${body}`;

function side(profile: string, over: Partial<ConsensusSide> = {}): ConsensusSide {
  return { profile, run: run({ text: "Created hello.txt with hello" }), files: [{ path: "hello.txt", added: 1, deleted: 0 }], diffs: { "hello.txt": diff("+hello") }, ...over };
}

describe("consensus", () => {
  it("agrees when both changed the same files the same way", async () => {
    const r = compareRuns(side("sonnet"), side("codex", { diffs: { "hello.txt": diff("+hello   ") }, run: run({ text: "I created hello.txt containing hello" }) }));
    expect(r.verdict).toBe("agree");
    expect(r.fileAgreement).toEqual([{ path: "hello.txt", same: true }]);
    await parseMermaid(r.mermaid);
  });

  it("is partial when the same file differs", async () => {
    const r = compareRuns(side("sonnet"), side("codex", { diffs: { "hello.txt": diff("+goodbye") } }));
    expect(r.verdict).toBe("partial");
    expect(r.mermaid).toContain("differs");
    await parseMermaid(r.mermaid);
  });

  it("disagrees when one run fails, when verify splits, or when they touched different files", async () => {
    const failed = compareRuns(side("sonnet"), side("codex", { run: run({ ok: false, error: { kind: "api", message: "x" } }) }));
    expect(failed.verdict).toBe("disagree");
    const split = compareRuns(side("sonnet", { verify: passing }), side("codex", { verify: failing }));
    expect(split.verdict).toBe("disagree");
    expect(split.verify).toEqual([true, false]);
    const apart = compareRuns(side("sonnet"), side("codex", { files: [{ path: "other.txt", added: 2, deleted: 0 }], diffs: {} }));
    expect(apart).toMatchObject({ verdict: "disagree", filesOnlyA: ["hello.txt"], filesOnlyB: ["other.txt"] });
    for (const r of [failed, split, apart]) await parseMermaid(r.mermaid);
  });

  it("with no files, the answers decide", () => {
    const same = compareRuns(side("a", { files: [], diffs: {}, run: run({ text: "The bug is in parse()" }) }), side("b", { files: [], diffs: {}, run: run({ text: "the bug is in parse" }) }));
    expect(same.verdict).toBe("agree");
    const diff2 = compareRuns(side("a", { files: [], diffs: {}, run: run({ text: "The bug is in parse()" }) }), side("b", { files: [], diffs: {}, run: run({ text: "Network timeouts cause it" }) }));
    expect(diff2.verdict).toBe("partial");
    expect(answerSimilarity("", "")).toBe(1);
  });

  it("keeps the diagram small and valid with many hostile file names", async () => {
    const files = Array.from({ length: 12 }, (_, i) => ({ path: `src/"weird"[${i}]|end.ts`, added: 1, deleted: 0 }));
    const r = compareRuns(side("sonnet", { files, diffs: {} }), side("codex", { files: files.slice(6), diffs: {} }));
    expect(r.mermaid).toContain("more files");
    await parseMermaid(r.mermaid);
  });
});
