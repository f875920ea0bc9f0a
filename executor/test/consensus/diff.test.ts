/** sameDiff on diffs made by real git, the way worktree.collect makes them (`git diff --cached --no-renames -- path`). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changedLines, sameDiff } from "../../src/consensus.ts";

let repo = "";
const git = (...args: string[]): string =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.autocrlf=false", ...args], {
    cwd: repo,
    encoding: "utf8",
  });

const BASE = {
  "calc.ts": "export function add(a: number, b: number) {\n  return a + b;\n}\n",
  "schema.sql": "-- one\n-- two\nSELECT 1;\n",
  "logo.bin": "\u0000\u0001\u0002base",
};

/** The diff one run would leave for `file` after writing `content` (null deletes it), from the base commit. */
function diffAfter(file: string, content: string | null): string {
  git("reset", "-q", "--hard", "base");
  if (content === null) unlinkSync(path.join(repo, file));
  else writeFileSync(path.join(repo, file), content);
  git("add", "-A");
  return git("diff", "--cached", "--no-renames", "--", file);
}

beforeAll(() => {
  repo = mkdtempSync(path.join(tmpdir(), "consensus-diff-"));
  git("init", "-q");
  for (const [f, c] of Object.entries(BASE)) writeFileSync(path.join(repo, f), c);
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  git("tag", "base");
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

const SUB =
  "export function add(a: number, b: number) {\n  return a + b;\n}\n\nexport function sub(a: number, b: number) {\n  return a - b;\n}\n";

describe("sameDiff on real git diffs", () => {
  it("the same edit is the same (equal post-image blob)", () => {
    expect(sameDiff(diffAfter("calc.ts", SUB), diffAfter("calc.ts", SUB))).toBe(true);
  });

  it("the same edit indented and spaced differently is the same", () => {
    const wide = SUB.replace("  return a - b;", "        return a  -  b;   ").replace(
      "\n\nexport function sub",
      "\n\n\nexport function sub",
    );
    const a = diffAfter("calc.ts", SUB);
    const b = diffAfter("calc.ts", wide);
    expect(a).not.toBe(b);
    expect(sameDiff(a, b)).toBe(true);
  });

  it("a different edit is not", () => {
    expect(
      sameDiff(diffAfter("calc.ts", SUB), diffAfter("calc.ts", SUB.replaceAll("sub", "mul").replace("a - b", "a * b"))),
    ).toBe(false);
  });

  it("removing a `-- comment` line is a change, not a diff header", () => {
    const a = diffAfter("schema.sql", "-- two\nSELECT 1;\n");
    const b = diffAfter("schema.sql", "-- one\nSELECT 1;\n");
    expect(changedLines(a)).toEqual(["---one"]);
    expect(sameDiff(a, b)).toBe(false);
  });

  it("both deleting a file is the same", () => {
    expect(sameDiff(diffAfter("calc.ts", null), diffAfter("calc.ts", null))).toBe(true);
  });

  it("binary files: identical results are the same, different ones are not", () => {
    const a = diffAfter("logo.bin", "\u0000\u0001new");
    expect(a).toMatch(/Binary files/);
    expect(sameDiff(a, diffAfter("logo.bin", "\u0000\u0001new"))).toBe(true);
    expect(sameDiff(a, diffAfter("logo.bin", "\u0000\u0001other"))).toBe(false);
  });

  it("a diff cut at the collector's cap still matches by blob id", () => {
    const big = `${SUB}${"// filler line\n".repeat(2000)}`;
    const a = diffAfter("calc.ts", big);
    expect(sameDiff(a.slice(0, 1024), diffAfter("calc.ts", big).slice(0, 1024))).toBe(true);
  });

  it("a missing diff (past the collector's 50 files) is not evidence of sameness", () => {
    expect(sameDiff(undefined, diffAfter("calc.ts", SUB))).toBe(false);
    expect(sameDiff(undefined, undefined)).toBe(false);
  });
});
