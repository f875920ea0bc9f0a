import fc from "fast-check";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { compress, FULL_CAP_CHARS } from "../../src/compress/index.ts";
import { failing, input, passing } from "./fixtures.ts";
import { parseMermaid } from "./mermaid-parse.ts";

const tokens = (s: string) => encode(s).length;

describe("compress", () => {
  it("the parser helper really rejects invalid Mermaid", async () => {
    await expect(parseMermaid('flowchart LR\n  A["unclosed --> B')).rejects.toThrow();
    await expect(parseMermaid("flowchart LR\n  A --> B")).resolves.toBeTruthy();
  });

  it("default (mermaid) stays under 80 o200k tokens for simple runs and parses", async () => {
    const cases = [
      input(),
      input({ verify: passing }),
      input({ verify: failing }),
      input({ files: [] }),
      input({ files: [{ path: "src/app.ts", added: 12, deleted: 3 }, { path: "src/app.test.ts", added: 40, deleted: 0 }] }),
      input({}, { ok: false, error: { kind: "rate_limit", message: "API Error: Request rejected (429) · mock: rate limit exceeded" } }),
    ];
    for (const c of cases) {
      const m = compress(c, "mermaid");
      expect(tokens(m), m).toBeLessThan(80);
      await parseMermaid(m);
    }
  });

  it("summary is one line; standard adds text; full holds everything, capped", async () => {
    const s = compress(input({ verify: passing }), "summary");
    expect(s).not.toContain("\n");
    expect(s).toContain("ok");
    expect(s).toContain("verify pass");
    const st = compress(input(), "standard");
    expect(st).toContain("Done: created hello.txt");
    expect(st).toContain("hello.txt +1 -0");
    await parseMermaid(st.split("\n\n")[0] as string);
    const f = compress(input({}, { text: "y".repeat(100_000) }), "full");
    expect(f.length).toBeLessThanOrEqual(FULL_CAP_CHARS + 100);
    expect(f).toContain("tokens in 1200 out 34");
  });

  it("shows the failure kind and message for a failed run", () => {
    const m = compress(input({}, { ok: false, error: { kind: "timeout", message: "killed after 180000 ms" } }), "mermaid");
    expect(m).toContain("timeout");
    expect(m).toContain("killed after 180000 ms");
  });

  it("stays valid Mermaid whatever the model or the repo wrote", async () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.constantFrom('"]; end\n%% x', "`rm -rf`", "A --> B", "#quot; &amp;", "end", "subgraph x", "{{}}[[()]]", "|a|b|", "\u0000\u200b😀", "click A call x()", "style A fill:#f00"),
    );
    await fc.assert(
      fc.asyncProperty(hostile, hostile, hostile, async (text, path, message) => {
        const c = input({ files: [{ path: path || "x", added: 1, deleted: 1 }] }, { ok: false, text, model: message, error: { kind: "api", message } });
        await parseMermaid(compress(c, "mermaid"));
        const ok = input({ files: [{ path: path || "x", added: 1, deleted: 1 }] }, { text });
        const m = compress(ok, "mermaid");
        await parseMermaid(m);
        expect(tokens(m)).toBeLessThan(120);
      }),
      { numRuns: 150 },
    );
  });
});
