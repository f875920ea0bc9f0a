import { type ChangedFile, ConsensusReport } from "@vault-mcp/contract";
import fc from "fast-check";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { compareRuns, type VerdictFacts, verdict } from "../../src/consensus.ts";
import type { ConsensusSide } from "../../src/interfaces.ts";
import { failed, failing, passing, run } from "../compress/fixtures.ts";
import { hostile, hostilePath } from "../compress/hostile.ts";
import { expectFlowchart } from "../compress/mermaid-parse.ts";

/** A one-file unified diff as git prints it; `blob` is the post-image id. */
const diff = (body: string, blob = "2222222") =>
  `diff --git a/x b/x\nindex 1111111..${blob} 100644\n--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n${body}\n`;
const file = (path: string): ChangedFile => ({ path, added: 1, deleted: 0 });

function side(profile: string, over: Partial<ConsensusSide> = {}): ConsensusSide {
  return {
    profile,
    run: run({ text: "Created hello.txt with hello" }),
    files: [file("hello.txt")],
    diffs: { "hello.txt": diff("+hello") },
    ...over,
  };
}
const answerOnly = (profile: string, text: string): ConsensusSide =>
  side(profile, { files: [], diffs: {}, run: run({ text }) });

async function check(r: ConsensusReport): Promise<void> {
  ConsensusReport.parse(r);
  await expectFlowchart(r.mermaid);
}

describe("compareRuns verdicts", () => {
  it("agree: same files, same edits (whitespace aside), both verify pass; the prose may differ", async () => {
    const r = compareRuns(
      side("sonnet", { verify: passing }),
      side("codex", {
        verify: passing,
        diffs: { "hello.txt": diff("+  hello   ", "3333333") },
        run: run({ text: "Wrote the greeting file." }),
      }),
    );
    expect(r).toMatchObject({
      verdict: "agree",
      profiles: ["sonnet", "codex"],
      filesBoth: ["hello.txt"],
      fileAgreement: [{ path: "hello.txt", same: true }],
      verify: [true, true],
    });
    expect(r.mermaid).toContain('S0["hello.txt"]:::same');
    await check(r);
  });

  it("agree: no files, similar answers", async () => {
    const r = compareRuns(
      answerOnly("a", "The bug is in parse(): it drops the last token."),
      answerOnly("b", "parse() drops the last token — that is the bug."),
    );
    expect(r.verdict).toBe("agree");
    await check(r);
  });

  it("partial: a shared file changed differently", async () => {
    const r = compareRuns(side("sonnet"), side("codex", { diffs: { "hello.txt": diff("+goodbye", "4444444") } }));
    expect(r).toMatchObject({ verdict: "partial", fileAgreement: [{ path: "hello.txt", same: false }] });
    expect(r.mermaid).toContain('D0["hello.txt"]:::diff');
    await check(r);
  });

  it("partial: overlapping but unequal file sets", async () => {
    const r = compareRuns(side("sonnet"), side("codex", { files: [file("hello.txt"), file("README.md")] }));
    expect(r).toMatchObject({ verdict: "partial", filesOnlyA: [], filesOnlyB: ["README.md"] });
    expect(r.mermaid).toContain('B --- OB0["README.md"]:::diff');
    await check(r);
  });

  it("partial: both runs done and edited alike, but both fail verification", async () => {
    const r = compareRuns(side("sonnet", { verify: failing }), side("codex", { verify: failing }));
    expect(r.verdict).toBe("partial");
    expect(r.mermaid).toContain("verify fail");
    await check(r);
  });

  it("disagree: one run failed", async () => {
    const r = compareRuns(side("sonnet"), side("codex", { run: failed("rate_limit", "429"), files: [], diffs: {} }));
    expect(r.verdict).toBe("disagree");
    expect(r.mermaid).toContain('B["codex rate_limit"]');
    await check(r);
  });

  it("disagree: verify passed on one side only", async () => {
    const r = compareRuns(side("sonnet", { verify: passing }), side("codex", { verify: failing }));
    expect(r).toMatchObject({ verdict: "disagree", verify: [true, false] });
    await check(r);
  });

  it("disagree: both runs failed, nothing to corroborate; drawn as 'both failed', not as alike answers", async () => {
    const r = compareRuns(
      side("a", { run: failed("timeout", "killed"), files: [], diffs: {} }),
      side("b", { run: failed("setup", "set OPENAI_API_KEY"), files: [], diffs: {} }),
    );
    expect(r.verdict).toBe("disagree");
    // Two empty answers are not "100% alike".
    expect(r.answerSimilarity).toBe(0);
    expect(r.mermaid).toContain('V{"both failed"}');
    expect(r.mermaid).not.toMatch(/alike|agree/);
    expect(r.mermaid).toContain('A["a timeout"]');
    expect(r.mermaid).toContain('B["b setup"]');
    await check(r);
  });

  it("disagree: disjoint files, or one side edited and the other did not", async () => {
    const apart = compareRuns(side("sonnet"), side("codex", { files: [file("other.txt")], diffs: {} }));
    expect(apart).toMatchObject({
      verdict: "disagree",
      filesBoth: [],
      filesOnlyA: ["hello.txt"],
      filesOnlyB: ["other.txt"],
    });
    const lazy = compareRuns(side("sonnet"), answerOnly("codex", "Created hello.txt with hello"));
    expect(lazy.verdict).toBe("disagree");
    for (const r of [apart, lazy]) await check(r);
  });

  it("disagree: no files and unrelated answers; in between is partial", () => {
    expect(
      compareRuns(answerOnly("a", "The bug is in parse()"), answerOnly("b", "Network timeouts cause it")).verdict,
    ).toBe("disagree");
    expect(
      compareRuns(
        answerOnly("a", "The bug is in parse, in the tokenizer"),
        answerOnly("b", "The bug is in the lexer, not in parse"),
      ).verdict,
    ).toBe("partial");
  });
});

describe("verdict rules one by one", () => {
  const base: VerdictFacts = {
    runOk: [true, true],
    verify: [null, null],
    filesBoth: 1,
    filesOnlyA: 0,
    filesOnlyB: 0,
    allSame: true,
    answerSimilarity: 0,
  };
  it.each<[string, Partial<VerdictFacts>, string]>([
    ["same files, same edits", {}, "agree"],
    ["one run failed", { runOk: [true, false] }, "disagree"],
    ["both runs failed", { runOk: [false, false] }, "disagree"],
    ["verify split", { verify: [true, false] }, "disagree"],
    ["both verify failed", { verify: [false, false] }, "partial"],
    ["disjoint files", { filesBoth: 0, filesOnlyA: 1, filesOnlyB: 1 }, "disagree"],
    ["only one side edited", { filesBoth: 0, filesOnlyA: 2 }, "disagree"],
    ["overlap plus extras", { filesOnlyB: 1 }, "partial"],
    ["a shared edit differs", { allSame: false }, "partial"],
    ["no files, similar answers", { filesBoth: 0, answerSimilarity: 0.6 }, "agree"],
    ["no files, answers in between", { filesBoth: 0, answerSimilarity: 0.45 }, "partial"],
    ["no files, dissimilar answers", { filesBoth: 0, answerSimilarity: 0.29 }, "disagree"],
  ])("%s → %s", (_name, over, expected) => {
    expect(verdict({ ...base, ...over })).toBe(expected);
  });
});

describe("the diff Mermaid", () => {
  it("puts shared files between the two runs and each side's own files on its side", () => {
    const r = compareRuns(
      side("sonnet", {
        files: [file("a.ts"), file("both.ts"), file("x.ts")],
        diffs: { "both.ts": diff("+1"), "x.ts": diff("+1") },
      }),
      side("codex", {
        files: [file("b.ts"), file("both.ts"), file("x.ts")],
        diffs: { "both.ts": diff("+1"), "x.ts": diff("+2", "5555555") },
      }),
    );
    expect(r.mermaid.split("\n")).toEqual([
      "flowchart LR",
      '  A["sonnet ok"] --- V{"partial, answers 100% alike"} --- B["codex ok"]',
      '  A --- S0["both.ts"]:::same --- B',
      '  A --- D0["x.ts"]:::diff --- B',
      '  OA0["a.ts"]:::diff --- A',
      '  B --- OB0["b.ts"]:::diff',
      "  classDef same fill:#cfc",
      "  classDef diff fill:#fcc",
    ]);
  });

  it("stays small with many files: four per group, then a count", async () => {
    const many = (prefix: string) => Array.from({ length: 30 }, (_, i) => file(`src/${prefix}/module-${i}.ts`));
    const shared = many("shared");
    const r = compareRuns(
      side("sonnet", {
        files: [...shared, ...many("a")],
        diffs: Object.fromEntries(shared.map((f) => [f.path, diff("+x")])),
      }),
      side("codex", {
        files: [...shared, ...many("b")],
        diffs: Object.fromEntries(shared.slice(0, 10).map((f) => [f.path, diff("+x")])),
      }),
    );
    expect(r.mermaid).toContain('SM["+6 more"]');
    expect(r.mermaid).toContain('DM["+16 more"]');
    expect(r.mermaid).toContain('OAM["+26 more"]');
    expect(encode(r.mermaid).length).toBeLessThan(400);
    await check(r);
  });

  it("a simple two-file consensus costs under 100 tokens", () => {
    const files = [file("src/app.ts"), file("src/app.test.ts")];
    const diffs = { "src/app.ts": diff("+a"), "src/app.test.ts": diff("+b") };
    const r = compareRuns(
      side("sonnet", { files, diffs, verify: passing }),
      side("codex", { files, diffs, verify: passing }),
    );
    expect(r.verdict).toBe("agree");
    expect(encode(r.mermaid).length).toBeLessThan(100);
  });

  it("stays valid whatever the profiles, paths, answers and diffs", async () => {
    const hostileSide = fc.record({
      profile: hostile,
      paths: fc.uniqueArray(hostilePath, { maxLength: 7 }),
      text: hostile,
      ok: fc.boolean(),
      verify: fc.constantFrom(undefined, passing, failing),
      body: hostile,
    });
    await fc.assert(
      fc.asyncProperty(hostileSide, hostileSide, fc.array(hostilePath, { maxLength: 3 }), async (a, b, shared) => {
        const make = (s: typeof a): ConsensusSide => {
          const paths = [...new Set([...shared, ...s.paths])];
          return {
            profile: s.profile,
            run: s.ok ? run({ text: s.text }) : failed("api", s.text),
            files: paths.map(file),
            diffs: Object.fromEntries(paths.map((p) => [p, diff(`+${s.body}`)])),
            ...(s.verify ? { verify: s.verify } : {}),
          };
        };
        const r = compareRuns(make(a), make(b));
        await check(r);
        expect(encode(r.mermaid).length).toBeLessThan(900);
      }),
      { numRuns: 120 },
    );
  });
});
