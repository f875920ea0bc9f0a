import { describe, expect, it } from "vitest";
import {
  capDiff,
  chunkMatches,
  DIFF_TRUNCATED_MARK,
  parseNumstat,
  parseNumstatEntries,
  splitPatch,
} from "../../src/worktree/diff-parse.ts";

describe("parseNumstat", () => {
  it("reads counts, binary markers and tabs in names", () => {
    expect(parseNumstat("3\t1\ta\tb.txt\0-\t-\timg.png\0")).toEqual([
      { path: "a\tb.txt", added: 3, deleted: 1 },
      { path: "img.png", added: null, deleted: null },
    ]);
  });

  it("reads a rename record (empty path, then old and new)", () => {
    expect(parseNumstatEntries("0\t0\t\0old.txt\0new.txt\0" + "2\t0\tz\0")).toEqual([
      { path: "new.txt", from: "old.txt", added: 0, deleted: 0 },
      { path: "z", added: 2, deleted: 0 },
    ]);
  });

  it("rejects output it does not understand rather than guessing", () => {
    expect(() => parseNumstat("garbage\0")).toThrow(/unexpected numstat record/);
    expect(() => parseNumstat("1\t1\t\0only-old\0")).toThrow(/cut short/);
    expect(parseNumstat("")).toEqual([]);
  });
});

describe("splitPatch and chunkMatches", () => {
  const patch =
    "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-diff --git a/y b/y\n+z\ndiff --git a/old b/new\nrename from old\n";
  it("splits at file headers only (a removed line that looks like a header stays in its file)", () => {
    const chunks = splitPatch(patch);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toContain("-diff --git a/y b/y");
    expect(chunkMatches(chunks[0] as string, { path: "x", added: 1, deleted: 1 })).toBe(true);
    expect(chunkMatches(chunks[1] as string, { path: "new", from: "old", added: 0, deleted: 0 })).toBe(true);
    expect(chunkMatches(chunks[1] as string, { path: "new", added: 0, deleted: 0 })).toBe(false);
    expect(splitPatch("")).toEqual([]);
  });
});

describe("capDiff", () => {
  it("cuts at a byte cap without splitting a character and marks the cut", () => {
    const out = capDiff("€".repeat(10), 10);
    expect(out).toBe("€".repeat(3) + DIFF_TRUNCATED_MARK);
    expect(capDiff("short", 10)).toBe("short");
  });
});
