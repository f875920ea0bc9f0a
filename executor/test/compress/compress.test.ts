import type { Verbosity } from "@vault-mcp/contract";
import fc from "fast-check";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { compress, FULL_CAP_BYTES } from "../../src/compress/index.ts";
import { failed, failing, hello, input, passing, twoFiles } from "./fixtures.ts";
import { hostile, hostilePath } from "./hostile.ts";
import { expectFlowchart } from "./mermaid-parse.ts";

const tokens = (s: string): number => encode(s).length;
const bytes = (s: string): number => new TextEncoder().encode(s).length;
/**
 * Whatever the input, the default diagram's labels are capped in UTF-8 bytes, so the diagram is
 * too, and a BPE token covers at least one byte. Measured worst case: 267 bytes, 164 tokens (rare
 * astral characters in every label of a failed run with two files and a failed verify).
 */
const WORST_BYTES = 280;
const WORST_TOKENS = 170;
const diagramOf = (text: string): string => text.split("\n\n")[0] ?? "";
const VERBOSITIES: Verbosity[] = ["summary", "mermaid", "standard", "full"];

/** Simple tasks: one or two files (or none), a short answer, with and without verify, and the failure shapes. */
const SIMPLE = {
  "1 file": input(),
  "1 file, verify pass": input({ verify: passing }),
  "1 file, verify fail": input({ verify: failing }),
  "2 files, verify pass": input({ files: twoFiles, verify: passing }),
  "2 long paths, verify fail": input({
    files: [
      { path: "executor/src/worktree/manager.ts", added: 120, deleted: 33 },
      { path: "executor/test/worktree/manager.test.ts", added: 300, deleted: 10 },
    ],
    verify: failing,
  }),
  "answer only": input({ files: [] }),
  "binary file": input({ files: [{ path: "assets/logo.png", added: null, deleted: null }] }),
  "rate limit": input(
    { files: [] },
    failed("rate_limit", "API Error: Request rejected (429) · mock: rate limit exceeded"),
  ),
  timeout: input(
    { files: [] },
    failed("timeout", "killed after 180000 ms (timeout)", { exitCode: null, signal: "SIGTERM" }),
  ),
  "crash, files left": input(
    { files: twoFiles },
    failed("crash", "exit 1: TypeError: Cannot read properties of undefined (reading 'map')"),
  ),
};

describe("compress: the default (mermaid)", () => {
  for (const [name, c] of Object.entries(SIMPLE)) {
    it(`${name}: a valid flowchart under 80 o200k tokens`, async () => {
      const m = compress(c, "mermaid");
      expect(tokens(m), m).toBeLessThan(80);
      await expectFlowchart(m);
    });
  }

  it("shows outcome, profile/model, files with +/-, cost and verify", () => {
    const m = compress(input({ files: twoFiles, verify: passing }), "mermaid");
    expect(m).toBe(
      [
        "flowchart LR",
        '  P["sonnet claude-sonnet-5-5"] --> O{"ok"}',
        '  O --> F["src/app.ts +12 -3, src/app.test.ts +40 -0"] & C["$0.0029"] & V["verify pass"]',
      ].join("\n"),
    );
  });

  it("counts files past two, with binaries", () => {
    const files = [
      ...twoFiles,
      { path: "b.ts", added: 1, deleted: 1 },
      { path: "logo.png", added: null, deleted: null },
    ];
    expect(compress(input({ files }), "mermaid")).toContain('F["4 files +53 -4, 1 bin"]');
  });

  it("failure shape: the error kind is the outcome, the message its node, and no empty files node", () => {
    const m = compress(SIMPLE.timeout, "mermaid");
    expect(m).toContain('O{"timeout"}');
    expect(m).toContain('E["killed after 180000 ms (timeout)"]');
    expect(m).not.toContain("F[");
    // A failed run that left edits behind still shows them.
    expect(compress(SIMPLE["crash, files left"], "mermaid")).toContain('F["src/app.ts +12 -3');
  });

  it("a failed verification fails the outcome even when the run succeeded", () => {
    const m = compress(input({ verify: failing }), "mermaid");
    expect(m).toContain('O{"verify failed"}');
    expect(m).toContain('V["verify fail, exit 1"]');
  });

  it("a run that failed without a typed error says how it ended", () => {
    expect(compress(input({ files: [] }, { ok: false, signal: "SIGKILL", exitCode: null }), "mermaid")).toContain(
      'E["killed by SIGKILL"]',
    );
    expect(compress(input({ files: [] }, { ok: false, exitCode: 2 }), "summary")).toContain("failed · sonnet");
  });

  it("names a path once even when listed twice, and keeps a long path's end", () => {
    expect(compress(input({ files: [hello, hello] }), "mermaid")).toContain('F["hello.txt +1 -0"]');
    const deep = compress(
      input({ files: [{ path: `${"very/deep/".repeat(10)}target-file.ts`, added: 1, deleted: 0 }] }),
      "mermaid",
    );
    expect(deep).toContain('F["…/very/deep/very/deep/target-file.ts +1 -0"]');
  });
});

describe("compress: summary, standard, full", () => {
  it("summary is one line with outcome, who, file count, cost, verify, and the error when failed", () => {
    expect(compress(input({ files: twoFiles, verify: passing }), "summary")).toBe(
      "ok · sonnet claude-sonnet-5-5 · 2 files +52 -3 · $0.0029 · verify pass",
    );
    const s = compress(input({ files: [] }, failed("api", "HTTP 500\nupstream\u0000 error")), "summary");
    expect(s).toBe("api · sonnet claude-sonnet-5-5 · no files changed · $0.0029 · api: HTTP 500 upstream error");
  });

  it("standard is the diagram, the answer's first lines, the files and the branch", async () => {
    const text = ["", "Done: created hello.txt", "", "It prints hello.", "Run it with node.", "A fourth line."].join(
      "\n",
    );
    const st = compress(input({ files: twoFiles }, { text }), "standard");
    await expectFlowchart(diagramOf(st));
    expect(st).toContain("answer: Done: created hello.txt\nIt prints hello.\nRun it with node.\nfiles:");
    expect(st).not.toContain("A fourth line.");
    expect(st).toContain("- src/app.ts +12 -3\n- src/app.test.ts +40 -0");
    expect(st).toContain("branch vault/j1 @ 0123456789ab");
  });

  it("summary says why verification failed, once", () => {
    expect(compress(input({ verify: failing }), "summary")).toBe(
      "verify failed · sonnet claude-sonnet-5-5 · 1 file +1 -0 · $0.0029 · verify fail (exit 1: Tests: 1 failed, 10 passed, 11 total)",
    );
  });

  it("an API's JSON error body becomes its code and message; full keeps it raw", () => {
    // What gemini prints for a 401 (executor/test/clis/fixtures/gemini-json-401.json).
    const raw = '{"error":{"code":401,"message":"mock: invalid API key","status":"UNAUTHENTICATED"}}';
    const c = input({ files: [] }, failed("auth", raw));
    expect(compress(c, "mermaid")).toContain('E["401 UNAUTHENTICATED: mock: invalid API key"]');
    expect(compress(c, "full")).toContain(`error (auth): ${raw}`);
    expect(compress(input({ files: [] }, failed("api", "HTTP 500: {not json}")), "mermaid")).toContain(
      'E["HTTP 500: {not json}"]',
    );
  });

  it("terminal colour codes do not reach the text", () => {
    const c = input({ verify: { ...failing, output: "\u001b[31mFAIL\u001b[39m\n\u001b[1mTests: 1 failed\u001b[22m" } });
    expect(compress(c, "standard")).toContain("verify failed: npm test → exit 1: Tests: 1 failed");
    expect(compress(c, "full")).not.toContain("\u001b");
  });

  it("standard says why verification failed", () => {
    expect(compress(input({ verify: failing }), "standard")).toContain(
      "verify failed: npm test → exit 1: Tests: 1 failed, 10 passed, 11 total",
    );
  });

  it("full holds answer, files, tokens, duration, error and verify log", async () => {
    const f = compress(input({ verify: failing }, { text: "line 1\nline 2" }), "full");
    await expectFlowchart(diagramOf(f));
    for (const part of [
      "tokens in 1200 out 34 cache-read 300 cache-write 50",
      "1234 ms",
      "$0.0029 (reported)",
      "branch vault/j1 @ 0123456789abcdef0123456789abcdef01234567",
      "- hello.txt +1 -0",
      "verify: npm test → fail, exit 1, 900 ms",
      "expected 2, got 3",
      "answer:\nline 1\nline 2",
    ]) {
      expect(f).toContain(part);
    }
    expect(compress(input({}, failed("auth", "Invalid API key · Please run /login")), "full")).toContain(
      "error (auth): Invalid API key · Please run /login",
    );
  });

  it("full is capped at 16 KiB of UTF-8, cutting the answer (last) and never a code point", () => {
    for (const unit of ["y", "é", "中", "😀"]) {
      const f = compress(input({}, { text: unit.repeat(40_000) }), "full");
      expect(new TextEncoder().encode(f).length).toBeLessThanOrEqual(FULL_CAP_BYTES);
      expect(new TextEncoder().encode(f).length).toBeGreaterThan(FULL_CAP_BYTES - 8);
      expect(f).toContain("tokens in 1200");
      expect(f).toMatch(/cut at 16 KiB/);
      expect(f).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
    const small = compress(input(), "full");
    expect(small).not.toMatch(/cut at 16 KiB/);
  });

  it("full lists up to 200 files, then a count", () => {
    const files = Array.from({ length: 250 }, (_, i) => ({ path: `f${i}.ts`, added: 1, deleted: 0 }));
    const f = compress(input({ files }), "full");
    expect(f).toContain("- f199.ts +1 -0\n- … 50 more");
    expect(f).not.toContain("f200.ts");
  });
});

describe("compress: hostile input", () => {
  it("every verbosity's diagram stays valid, and the default small, whatever the model, repo or error wrote", async () => {
    await fc.assert(
      fc.asyncProperty(
        hostile,
        hostilePath,
        hostilePath,
        hostile,
        hostile,
        fc.boolean(),
        async (text, path, path2, message, model, ok) => {
          const files = [
            { path, added: 1, deleted: 1 },
            ...(path2.length % 2 ? [{ path: path2, added: null, deleted: null }] : []),
          ];
          const c = input(
            { files, verify: { ...failing, command: [message || "x"], output: text } },
            ok ? { text, model } : failed("api", message, { text, model }),
          );
          for (const v of VERBOSITIES) {
            const out = compress(c, v);
            if (v === "summary") expect(out).not.toMatch(/[\n\r]/);
            else await expectFlowchart(diagramOf(out));
          }
          const m = compress(c, "mermaid");
          expect(tokens(m)).toBeLessThan(WORST_TOKENS);
          expect(bytes(m)).toBeLessThanOrEqual(WORST_BYTES);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("worst case: every label at its cap in scripts that cost the most tokens per byte", async () => {
    for (const start of [0x20000, 0x1d400, 0xe000, 0x0e00, 0x4e00]) {
      const s = Array.from({ length: 200 }, (_, i) => String.fromCodePoint(start + i * 7)).join("");
      const files = [
        { path: s, added: 99_999, deleted: 99_999 },
        { path: `${s}x`, added: 99_999, deleted: 99_999 },
      ];
      for (const r of [{ model: s, text: s }, failed("bad_output", s, { model: s, text: s })]) {
        const m = compress(input({ profile: s, files, verify: failing }, r), "mermaid");
        await expectFlowchart(m);
        expect(bytes(m)).toBeLessThanOrEqual(WORST_BYTES);
        expect(tokens(m)).toBeLessThan(WORST_TOKENS);
      }
    }
  });

  it("an answer, path or message made of every trap at once", async () => {
    const all = [
      '"]; end\n%% x',
      "%%{init: {}}%%",
      "#quot;",
      "<b>",
      "`md`",
      "$$x$$",
      "\ud800",
      "\u202e",
      "A --> B",
    ].join(" ");
    const c = input(
      { profile: all, files: [{ path: all, added: 1, deleted: 0 }], verify: failing },
      failed("bad_output", all, { model: all, text: all }),
    );
    const m = compress(c, "mermaid");
    await expectFlowchart(m);
    const labels = [...m.matchAll(/"([^"]*)"/g)].map((x) => x[1]).join("\n");
    expect(labels).toContain("end");
    expect(labels).not.toMatch(/[#<>`\u202e]|%%|\$\$|[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(m.split("\n")).toHaveLength(3);
  });

  it("empty strings everywhere still make a valid diagram", async () => {
    const c = input(
      { profile: "", files: [{ path: "", added: 0, deleted: 0 }] },
      { model: "", text: "", ok: false, error: { kind: "crash", message: "" } },
    );
    for (const v of VERBOSITIES.filter((x) => x !== "summary")) await expectFlowchart(diagramOf(compress(c, v)));
    expect(compress(c, "mermaid")).toContain('E["-"]');
  });

  it("non-finite numbers from a broken adapter do not leak into the text", () => {
    const c = input({ files: [{ path: "a", added: Number.NaN, deleted: -1 }] }, { costUsd: Number.POSITIVE_INFINITY });
    expect(compress(c, "summary")).toContain("1 file +0 -0 · $?");
    expect(compress(c, "mermaid")).toContain('F["a +0 -0"] & C["$?"]');
  });
});
