import { describe, expect, it } from "vitest";
import { clip, clipPath, cut, money, plain } from "../../src/compress/label.ts";

describe("clip", () => {
  it("cuts to a UTF-8 byte budget, never inside a code point, and marks the cut", () => {
    expect(clip("x".repeat(50))).toBe(`${"x".repeat(37)}…`);
    expect(clip("😀".repeat(50), 11)).toBe("😀😀…");
    expect(clip("é".repeat(50), 11)).toBe("éééé…");
    expect(clip("  lots \t of \r\n space  ")).toBe("lots of space");
    expect(clip("\u200b")).toBe("-");
    expect(cut("abcdef", 5, "tail")).toBe("…ef");
    for (const text of ["word ".repeat(30), "中文".repeat(30), "\u{20000}".repeat(30)]) {
      expect(new TextEncoder().encode(clip(text, 20)).length).toBeLessThanOrEqual(20);
    }
  });

  it("plain folds a text to one clean line", () => {
    expect(plain("a\n\nb\u0007\tc")).toBe("a b c");
  });
});

describe("clipPath", () => {
  it("keeps short paths whole and long ones by their last whole segments", () => {
    expect(clipPath("src/app.ts")).toBe("src/app.ts");
    expect(clipPath("executor/src/worktree/manager.ts", 28)).toBe("…/src/worktree/manager.ts");
    expect(clipPath(`dir/${"n".repeat(60)}.ts`, 20)).toBe(`…${"n".repeat(14)}.ts`);
    expect(clipPath("")).toBe("-");
  });
});

describe("money", () => {
  it.each([
    [0, "$0"],
    [0.002895, "$0.0029"],
    [1.5, "$1.50"],
    [Number.NaN, "$?"],
    [-1, "$?"],
  ])("%d → %s", (usd, text) => {
    expect(money(usd)).toBe(text);
  });
});
