/** The terminal rendering of our Mermaid diagrams, fed the real diagrams the executor and workflow write. */
import { describe, expect, it } from "vitest";
import { compress } from "../../executor/src/compress/index.ts";
import { consensusMermaid } from "../../executor/src/consensus/mermaid.ts";
import { failing, input, passing, twoFiles } from "../../executor/test/compress/fixtures.ts";
import { progressMermaid as workflowProgress } from "../../workflows/progress.ts";
import { parseFlowchart, renderMermaid, renderResult } from "../src/mermaid.ts";

/** Every node id of the source must be gone from the drawing: labels replace them. */
function idsOf(src: string): string[] {
  return [...(parseFlowchart(src)?.nodes.keys() ?? [])];
}

describe("renderMermaid on the executor's result diagram", () => {
  it("draws a successful run as a tree: who → outcome → files, cost, verify", () => {
    const src = compress(input({ verify: passing }), "mermaid");
    expect(renderMermaid(src)).toBe(
      [
        "[sonnet claude-sonnet-5-5]",
        "└─▶ <ok>",
        "    ├─▶ [hello.txt +1 -0]",
        "    ├─▶ [$0.0029]",
        "    └─▶ [verify pass]",
      ].join("\n"),
    );
  });

  it("keeps a failed run's error, with the colon inside the quoted label", () => {
    const src = compress(
      input({ files: [] }, { ok: false, error: { kind: "rate_limit", message: "API Error: 429 Too Many Requests" } }),
      "mermaid",
    );
    const text = renderMermaid(src);
    expect(text).toContain("└─▶ <rate_limit>");
    expect(text).toContain("├─▶ [API Error: 429 Too Many Requests]");
    expect(text).not.toMatch(/flowchart|-->|\["/);
  });

  it("draws the diagram of a `standard` result and leaves the text after it as it is", () => {
    const src = compress(input({ files: twoFiles, verify: failing }), "standard");
    const text = renderResult(src);
    expect(text.split("\n").slice(0, 5)).toEqual([
      "[sonnet claude-sonnet-5-5]",
      "└─▶ <verify failed>",
      "    ├─▶ [src/app.ts +12 -3, src/app.test.ts +40 -0]",
      "    ├─▶ [$0.0029]",
      "    └─▶ [verify fail, exit 1]",
    ]);
    expect(text).toContain("\n\nverify failed: npm test → exit 1");
    expect(text).toContain("- src/app.ts +12 -3");
  });
});

describe("renderMermaid on other diagrams we write", () => {
  it("the workflow's progress diagram: a chain ending in a circle", () => {
    expect(renderMermaid(workflowProgress("t-20261124-1530-ab12cd", "running", 1, "deepseek"))).toBe(
      ["[t-20261124-1530-ab12cd]", "└─▶ [attempt 1: deepseek]", "    └─▶ ((running))"].join("\n"),
    );
  });

  it("the consensus diagram: undirected lanes read from run A, shared files shown once, styling dropped", () => {
    const src = consensusMermaid(
      {
        verdict: "partial",
        profiles: ["sonnet", "codex"],
        answerSimilarity: 0.71,
        filesBoth: ["src/app.ts", "src/util.ts"],
        filesOnlyA: ["README.md"],
        filesOnlyB: ["docs/b.md"],
        fileAgreement: [
          { path: "src/app.ts", same: true },
          { path: "src/util.ts", same: false },
        ],
        verify: { a: true, b: true },
      } as unknown as Parameters<typeof consensusMermaid>[0],
      { profile: "sonnet", outcome: "ok", verify: true },
      { profile: "codex", outcome: "ok", verify: true },
    );
    const text = renderMermaid(src);
    const lines = text.split("\n");
    expect(lines[0]).toBe("[sonnet ok, verify pass]");
    expect(lines[1]).toBe("├── <partial, answers 71% alike>");
    expect(lines[2]).toBe("│   └── [codex ok, verify pass]");
    // Every label appears, each node is expanded once, and no id, class or fill survives.
    for (const label of ["src/app.ts", "src/util.ts", "README.md", "docs/b.md"]) expect(text).toContain(`[${label}]`);
    expect(lines.filter((l) => l.includes("[codex ok, verify pass]") && !l.endsWith("↑"))).toHaveLength(1);
    expect(text).not.toMatch(/classDef|:::|fill|#cfc/);
    for (const id of idsOf(src)) expect(text).not.toMatch(new RegExp(`(^|[^\\w/.])${id}[\\[({]`));
  });
});

describe("the flowchart subset", () => {
  it("reads edge labels, both label forms, & groups, shapes, dotted and thick links, ; separators", () => {
    const text = renderMermaid(
      'graph TD; A[Start] -->|yes| B(Round); A -- no --> C{{Hex}}; B & C ==> D[(DB)]; D -.-> E>"flag"]',
    );
    expect(text).toBe(
      ["[Start]", "├─yes─▶ (Round)", "│   └═▶ [(DB)]", "│       └╌▶ >flag]", "└─no─▶ {{Hex}}", "    └═▶ [(DB)] ↑"].join(
        "\n",
      ),
    );
  });

  it("a cycle of arrows ends: the node reached again is marked, not expanded", () => {
    expect(renderMermaid("flowchart LR\n  A --> B\n  B --> A")).toBe(["[A]", "└─▶ [B]", "    └─▶ [A] ↑"].join("\n"));
  });

  it("a label given where a node is defined is kept when a later line names it bare", () => {
    expect(renderMermaid('flowchart LR\n  X["the label"]\n  X --> Y\n  Y["why"]')).toBe(
      ["[the label]", "└─▶ [why]"].join("\n"),
    );
  });

  it("a quoted label may hold brackets and arrows", () => {
    expect(renderMermaid('flowchart LR\n  A["a ] b --> c"] --> B')).toBe(["[a ] b --> c]", "└─▶ [B]"].join("\n"));
  });

  it("skips subgraph frames, comments and styling, and draws lone nodes", () => {
    const src =
      "flowchart TB\n  %% a comment\n  subgraph one\n    A[alone]\n  end\n  style A fill:#f9f\n  classDef x fill:#fff\n  class A x";
    expect(renderMermaid(src)).toBe("[alone]");
  });

  it("hands back anything that is not a flowchart unchanged", () => {
    for (const src of ["sequenceDiagram\n  A->>B: hi", "ok · sonnet · 1 file", "", "flowchart LR\n  %% nothing"])
      expect(renderMermaid(src)).toBe(src);
  });

  it("renders fenced mermaid blocks inside text", () => {
    const text = renderResult("before\n```mermaid\nflowchart LR\n  A[a] --> B[b]\n```\nafter");
    expect(text).toBe("before\n[a]\n└─▶ [b]\nafter");
  });

  it("never throws on malformed input", () => {
    for (const src of [
      "flowchart LR\n  A[unclosed --> B",
      "flowchart LR\n  --> -->",
      'flowchart LR\n  A["x',
      "flowchart LR\n  A --> ",
      "graph\n;;;",
    ]) {
      expect(() => renderMermaid(src)).not.toThrow();
    }
  });
});
