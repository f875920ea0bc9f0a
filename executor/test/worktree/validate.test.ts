import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  InvalidJobIdError,
  InvalidRefError,
  RefNotFoundError,
  RepoNotAllowedError,
} from "../../src/worktree/manager.ts";
import { gitOut, makeRepo, type Sandbox, sandbox } from "./helpers.ts";

let sb: Sandbox;
let outside: string;
beforeEach(() => {
  sb = sandbox();
  outside = mkdtempSync(path.join(os.tmpdir(), "vault-outside-"));
  makeRepo(outside, "evil");
});
afterEach(() => {
  sb.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

/** Nothing under worktreesDir, nothing new beside the outside repo, no new branch anywhere. */
function expectNothingCreated(): void {
  expect(existsSync(sb.worktreesDir)).toBe(false);
  expect(readdirSync(outside)).toEqual(["evil"]);
  expect(gitOut(path.join(outside, "evil"), "branch", "--list", "vault/*")).toBe("");
  expect(gitOut(path.join(sb.reposDir, "demo"), "branch", "--list", "vault/*")).toBe("");
}

describe("repo names", () => {
  it.each([
    "..",
    "../demo",
    "demo/..",
    "demo/../other",
    "/etc",
    `${outside}/evil`,
    "./demo",
    ".git",
    "-demo",
    "de\0mo",
    "",
  ])("refuses %j with RepoNotAllowedError and creates nothing", async (repo) => {
    const m = sb.manager({ allowlist: [] });
    const err = await m.acquire(repo, undefined, "j1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepoNotAllowedError);
    expect((err as RepoNotAllowedError).code).toBe("repo_not_allowed");
    expectNothingCreated();
  });

  it("refuses a symlink in reposDir that points outside, even when allowlisted", async () => {
    symlinkSync(path.join(outside, "evil"), path.join(sb.reposDir, "link"));
    await expect(sb.manager({ allowlist: ["link"] }).acquire("link", undefined, "j1")).rejects.toBeInstanceOf(
      RepoNotAllowedError,
    );
    await expect(sb.manager({ allowlist: [] }).acquire("link", undefined, "j1")).rejects.toBeInstanceOf(
      RepoNotAllowedError,
    );
    expectNothingCreated();
  });

  it("accepts a symlink that stays inside reposDir", async () => {
    symlinkSync(path.join(sb.reposDir, "demo"), path.join(sb.reposDir, "alias"));
    const wt = await sb.manager({ allowlist: ["alias"] }).acquire("alias", undefined, "j1");
    expect(existsSync(path.join(wt.path, "README.md"))).toBe(true);
  });

  it("refuses a real repo that is not on the allowlist, and a listed one that is missing or not a repo", async () => {
    makeRepo(sb.reposDir, "secret");
    mkdirSync(path.join(sb.reposDir, "plain-dir"));
    const m = sb.manager({ allowlist: ["demo", "missing", "plain-dir"] });
    for (const repo of ["secret", "missing", "plain-dir"])
      await expect(m.acquire(repo, undefined, "j1"), repo).rejects.toBeInstanceOf(RepoNotAllowedError);
    expect(existsSync(sb.worktreesDir)).toBe(false);
  });

  it("an allowlisted repo is accepted (the refusals above are not blanket ones)", async () => {
    const wt = await sb.manager().acquire("demo", undefined, "j1");
    expect(wt).toMatchObject({ repo: "demo", branch: "vault/j1" });
    expect(wt.path.startsWith(sb.worktreesDir)).toBe(true);
  });
});

describe("refs and job ids", () => {
  it("refuses option-looking and malformed refs before running git", async () => {
    const m = sb.manager();
    for (const ref of ["--upload-pack=x", "-b", "main..other", "HEAD~1", "main^{tree}", "x.lock", "a b", ""]) {
      await expect(m.acquire("demo", ref, "j1"), ref).rejects.toBeInstanceOf(InvalidRefError);
    }
    expectNothingCreated();
  });

  it("refuses a ref that does not exist", async () => {
    const err = await sb
      .manager()
      .acquire("demo", "no-such-branch", "j1")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefNotFoundError);
    expect((err as RefNotFoundError).code).toBe("ref_not_found");
    expectNothingCreated();
  });

  it("checks out a branch, a tag or a commit, and HEAD by default", async () => {
    const repo = path.join(sb.reposDir, "demo");
    const head = gitOut(repo, "rev-parse", "HEAD");
    gitOut(repo, "tag", "v1");
    const m = sb.manager();
    for (const [i, ref] of [undefined, "main", "v1", head].entries()) {
      const wt = await m.acquire("demo", ref, `r${i}`);
      expect(wt.baseCommit).toBe(head);
      expect(gitOut(wt.path, "rev-parse", "HEAD")).toBe(head);
      expect(gitOut(wt.path, "symbolic-ref", "HEAD")).toBe(`refs/heads/vault/r${i}`);
    }
  });

  it("refuses job ids that would make a bad branch name", async () => {
    const m = sb.manager();
    for (const id of ["", "-x", "../x", "a/b", "a..b", "x.lock", "x.", "a b", "a:b"]) {
      await expect(m.acquire("demo", undefined, id), id).rejects.toBeInstanceOf(InvalidJobIdError);
    }
    expectNothingCreated();
  });
});
