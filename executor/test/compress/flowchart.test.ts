import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeLabel, Flowchart, node } from "../../src/compress/flowchart.ts";
import { hostile } from "./hostile.ts";
import { expectFlowchart } from "./mermaid-parse.ts";

describe("escapeLabel", () => {
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
    expect(escapeLabel(raw)).toBe(safe);
  });

  it("never lengthens a text, so a clipped label keeps its byte cap", () => {
    const bytes = (s: string) => new TextEncoder().encode(s).length;
    fc.assert(fc.property(hostile, (s) => bytes(escapeLabel(s)) <= Math.max(1, bytes(s))));
  });
});

describe("Flowchart", () => {
  it("writes nodes, chains and only the classes in use, escaping each label once", async () => {
    const m = new Flowchart()
      .classDef("same", "fill:#cfc")
      .classDef("diff", "fill:#fcc")
      .chain("-->", node("P", 'who "me"'), node("O", "ok", "decision"))
      .chain("---", "O", [node("F", "a.ts", "box", "same"), node("C", "$$0")], "P")
      .render();
    expect(m).toBe(
      [
        "flowchart LR",
        `  P["who 'me'"] --> O{"ok"}`,
        '  O --- F["a.ts"]:::same & C["$0"] --- P',
        "  classDef same fill:#cfc",
      ].join("\n"),
    );
    await expectFlowchart(m);
  });

  it("refuses ids and classes that could be a keyword or carry input, and nodes it does not know", () => {
    expect(() => new Flowchart().chain("-->", node("end", "x"))).toThrow(/bad Mermaid node id/);
    expect(() => new Flowchart().chain("-->", node('A"]', "x"))).toThrow(/bad Mermaid node id/);
    expect(() => new Flowchart().classDef("end", "fill:#fff")).toThrow(/class name/);
    expect(() => new Flowchart().classDef("ok", "fill:#fff\n  click A call")).toThrow(/style/);
    expect(() => new Flowchart().chain("-->", "A")).toThrow(/before it is declared/);
    expect(() => new Flowchart().chain("-->", node("A", "x"), node("A", "y"))).toThrow(/declared twice/);
    expect(() => new Flowchart().chain("-->", node("A", "x", "box", "same"))).toThrow(/no classDef/);
  });
});
