import { describe, expect, it } from "vitest";
import { cut, label, money, pathLabel, plain } from "../../src/compress/label.ts";

describe("label", () => {
  it.each([
    ['say "hi"', "say 'hi'"],
    ["`md`", "'md'"],
    ["a\n%% b", "a % b"],
    ["%%{init}%%", "%{init}%"],
    ["#quot; #35;", "quot; 35;"],
    ["<b>x</b>", "b x /b"],
    ["$$x^2$$", "$x^2$"],
    ["a\u0000b\u200bc\u202ed", "abcd"],
    ["lone \ud800 surrogate \udc00", "lone surrogate"],
    ["  lots \t of \r\n space  ", "lots of space"],
    ["end --> subgraph |x| ; {a} [b] (c)", "end -- subgraph |x| ; {a} [b] (c)"],
    ["", "-"],
    ["\u200b", "-"],
  ])("%j → %j", (raw, safe) => {
    expect(label(raw)).toBe(safe);
  });

  it("cuts to a UTF-8 byte budget, never inside a code point, and marks the cut", () => {
    expect(label("x".repeat(50))).toBe(`${"x".repeat(37)}…`);
    expect(label("😀".repeat(50), 11)).toBe("😀😀…");
    expect(label("é".repeat(50), 11)).toBe("éééé…");
    expect(cut("abcdef", 5, "tail")).toBe("…ef");
    for (const text of ["word ".repeat(30), "中文".repeat(30), "\u{20000}".repeat(30)]) {
      expect(new TextEncoder().encode(label(text, 20)).length).toBeLessThanOrEqual(20);
    }
  });

  it("plain folds a text to one clean line", () => {
    expect(plain("a\n\nb\u0007\tc")).toBe("a b c");
  });
});

describe("pathLabel", () => {
  it("keeps short paths whole and long ones by their last whole segments", () => {
    expect(pathLabel("src/app.ts")).toBe("src/app.ts");
    expect(pathLabel("executor/src/worktree/manager.ts", 28)).toBe("…/src/worktree/manager.ts");
    expect(pathLabel(`dir/${"n".repeat(60)}.ts`, 20)).toBe(`…${"n".repeat(14)}.ts`);
    expect(pathLabel("")).toBe("-");
    expect(pathLabel('a/"b".ts')).toBe("a/'b'.ts");
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
