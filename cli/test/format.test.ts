import { describe, expect, it } from "vitest";
import { compress } from "../../executor/src/compress/index.ts";
import { input } from "../../executor/test/compress/fixtures.ts";
import { age, duration, money, renderMermaid, table } from "../src/format.ts";

describe("formatting", () => {
  it("draws our Mermaid diagrams as text, labels instead of ids", () => {
    const text = renderMermaid(compress(input({ verify: { command: ["npm", "test"], ok: true, exitCode: 0, durationMs: 1, output: "" } }), "mermaid"));
    expect(text).toContain("[sonnet claude-sonnet-5-5] ──▶ [ok]");
    expect(text).toContain("[ok] ──▶ [1 file +1 -0]");
    expect(text).toContain("[verify pass]");
    expect(text).not.toContain("flowchart");
    expect(renderMermaid('flowchart LR\n  A["a"] --- V{"agree 90 pct"}\n  classDef same fill:#fff')).toBe("[a] ─── [agree 90 pct]");
  });

  it("formats tables, money, durations and ages", () => {
    expect(table(["A", "BB"], [["x", "y"], ["long", "z"]]).split("\n")).toEqual(["A     BB", "────  ──", "x     y", "long  z"]);
    expect(money(0.002895)).toBe("$0.0029");
    expect(money(12.5)).toBe("$12.50");
    expect(duration(950)).toBe("950 ms");
    expect(duration(61_000)).toBe("1m1s");
    expect(age(0, 3_600_000)).toBe("60m ago");
  });
});
