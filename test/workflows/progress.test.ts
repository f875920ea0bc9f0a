/** The progress Mermaid a running task shows (pure). */
import { describe, expect, it } from "vitest";
import { attemptsMermaid, PROGRESS_ATTEMPTS, progressMermaid, progressOf } from "../../workflows/progress.ts";

describe("progress Mermaid", () => {
  it("before the first attempt: task → queued → status", () => {
    expect(attemptsMermaid("t-1", "running", [])).toBe('flowchart LR\n  T["t-1"] --> S["queued"] --> R(("running"))');
    expect(progressMermaid("t-1", "running", 2, "sonnet")).toBe(
      'flowchart LR\n  T["t-1"] --> S["attempt 2: sonnet"] --> R(("running"))',
    );
  });

  it(`draws at most the last ${PROGRESS_ATTEMPTS} attempts and counts the ones before`, () => {
    const marks = [1, 2, 3, 4, 5, 6].map((attempt) => ({ attempt, profile: "opus", status: "failed" }));
    const m = attemptsMermaid("t-1", "running", marks);
    expect(m).toContain('M["… 2 earlier"]');
    expect(m).not.toContain("A2[");
    expect(m).toContain('A6["#6 opus: failed"]');
  });

  it("labels lose what Mermaid would read as syntax, and stay short", () => {
    const m = attemptsMermaid('t-1"]; click T', "running", [
      { attempt: 1, profile: "sonnet", status: `failed "x" <b>{y}</b> | #; ${"z".repeat(100)}` },
    ]);
    const label = /A1\["(.*?)"\]/.exec(m)?.[1] ?? "";
    expect(label.startsWith("#1 sonnet: failed x ")).toBe(true);
    expect(label.slice(3)).not.toMatch(/[<>{}|;"]/);
    expect(m).toContain('T["t-1 click T"]');
    expect(m.length).toBeLessThan(200);
  });

  it("no directive, link, control or bidi character gets in through a label", () => {
    const m = attemptsMermaid("t-1", "running", [
      {
        attempt: 1,
        profile: "sonnet",
        status: "%%{init: {'securityLevel':'loose'}}%%\nclick A1 \u001b]0;x\u0007\u202e",
      },
    ]);
    expect(m).not.toContain("%%");
    expect(m.split("\n")).toHaveLength(2);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none got through
    expect(m.replace("\n", " ")).not.toMatch(/[\u0000-\u001f\u202e]/);
  });
});

describe("progress in words", () => {
  it("names the attempt under way and, once the chooser has picked, why the climb started there", () => {
    expect(progressOf([])).toEqual({ attempt: 1, text: "first attempt under way" });
    const chose = "chose sonnet for kind bugfix: 80 % of 50 runs, $1.20 per solved task; deepseek $4.10";
    const running = [{ attempt: 1, profile: "sonnet", status: "running", note: chose }];
    // The written attempts say where the climb is; the notes may come from a stage still running.
    expect(progressOf([], running).text).toBe(`first attempt under way; ${chose}`);
    expect(progressOf([{ attempt: 1, profile: "sonnet", status: "failed", note: chose }]).text).toBe(
      `attempt 1 (sonnet) failed; attempt 2 under way; ${chose}`,
    );
  });
});
