/**
 * The git token (GIT_CREDENTIALS) is nowhere a sandboxed agent can look, even while the executor's
 * own git is pushing with it: the stand-in CLI (fixtures/escape-cli.mjs, `hunt`) knows only the
 * token's SHA-256 and length, and searches its environment, home, worktree, the git directory its
 * `.git` names, the repo's config and the credentials file, and every /proc/<pid>/cmdline and
 * environ it may open, for as long as a delivery runs against a remote slowed down on purpose. With
 * AGENT_SANDBOX=off the same hunt finds it, so the assertion can fail.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JobView, type RepoSource } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitRemote, startGitRemote } from "../../../test/git-remote/server.ts";
import { type Harness, harness, post, until, waitJob } from "../server/harness.ts";
import {
  cleanupAll,
  ESCAPE_CLI,
  IS_ROOT,
  makeIdentities,
  runningExecutor,
  sandboxHarness,
  type TestIdentities,
} from "./helpers.ts";

const TOKEN = "ghp_huntMe0123456789abcdefABCDEF012345";

interface Hunt {
  found: string[];
  git: { cmd: string; environ: string }[];
  reads: { file: string; ok: boolean; code?: string }[];
  searched: number;
}

describe.skipIf(!IS_ROOT)("the git token is nowhere an agent can look (root: makes the identities)", () => {
  let ids: TestIdentities;
  let remote: GitRemote;
  let secrets: string;
  let credentials: string;
  let source: RepoSource;
  const hs: Harness[] = [];

  beforeAll(async () => {
    ids = makeIdentities(2);
    remote = await startGitRemote({ token: TOKEN });
    remote.createRepo("app");
    source = { url: remote.repoUrl("app"), defaultBranch: "main" };
    // Where an operator keeps it: a private directory, the file 0600.
    secrets = mkdtempSync(path.join(os.tmpdir(), "vault-git-creds-"));
    credentials = path.join(secrets, "git-credentials");
    writeFileSync(credentials, `${remote.credentialLine()}\n`);
    chmodSync(credentials, 0o600);
  });
  afterAll(() =>
    cleanupAll(
      ...hs.map((h) => () => h.cleanup()),
      () => remote?.close(),
      () => rmSync(secrets, { recursive: true, force: true }),
      () => ids?.remove(),
    ),
  );

  /** Job A's commit is pushed (remote slowed to 1.5 s an answer) while job B hunts for the token. */
  async function huntDuringDelivery(h: Harness, branch: string): Promise<Hunt> {
    const { url, stop } = await runningExecutor(h);
    try {
      const a = JobView.parse(
        await (
          await post(`${url}/execute`, { jobKey: "a", profile: "sonnet", prompt: "write:a.txt", repo: "app", source })
        ).json(),
      );
      expect(a.status, JSON.stringify(a.result?.run.error)).toBe("succeeded");
      const spec = {
        sha256: createHash("sha256").update(TOKEN).digest("hex"),
        length: TOKEN.length,
        files: [credentials, path.join(h.dir, "repos", "app", ".git", "config")],
        durationMs: 8_000,
        ready: "hunting",
      };
      const b = JobView.parse(
        await (
          await post(`${url}/jobs`, {
            jobKey: "hunt",
            profile: "sonnet",
            prompt: JSON.stringify({ hunt: spec }),
            repo: "app",
            source,
          })
        ).json(),
      );
      const treesDir = path.join(h.dir, "worktrees", "app");
      await until(
        () => readdirSync(treesDir).some((t) => existsSync(path.join(treesDir, t, "hunting"))),
        30_000,
        "the hunt to start",
      );
      remote.setDelay(1_500);
      const delivered = await post(`${url}/jobs/${a.jobId}/deliver`, { branch, mode: "push" });
      remote.setDelay(0);
      expect(delivered.status, await delivered.clone().text()).toBe(200);
      const view = JobView.parse(await waitJob(url, b.jobId, 60_000));
      expect(view.status, JSON.stringify(view.result?.run.error)).toBe("succeeded");
      return JSON.parse(view.result?.run.text ?? "{}") as Hunt;
    } finally {
      remote.setDelay(0);
      await stop();
    }
  }

  it("sandbox on: not in its env, home, worktree, git dir, the repo's config, the file, nor any /proc it can read", async () => {
    const h = sandboxHarness(ids.prefix, { GIT_CREDENTIALS: credentials });
    hs.push(h);
    const hunt = await huntDuringDelivery(h, "vault/t-hunt-on");
    expect(hunt.found).toEqual([]);
    // It did look while the executor's git pushed: it saw that git's command line, not its environment.
    // git's http transport, the pack it sends, and the credential helper git ran (a program and a path).
    const pushes = hunt.git.filter((g) => /remote-https?|send-pack|helperMain/.test(g.cmd));
    expect(pushes.length, JSON.stringify(hunt.git)).toBeGreaterThan(0);
    expect(pushes.every((g) => g.environ === "EACCES")).toBe(true);
    const refused = (f: string) => hunt.reads.find((r) => r.file === f)?.code;
    expect(refused(credentials)).toBe("EACCES");
    expect(refused(path.join(h.dir, "repos", "app", ".git", "config"))).toBe("EACCES");
    expect(hunt.searched).toBeGreaterThan(10);
  }, 120_000);

  it("control, AGENT_SANDBOX=off: the same hunt finds the token (so the test above can fail)", async () => {
    const h = harness({ CLAUDE_BIN: ESCAPE_CLI, GIT_CREDENTIALS: credentials });
    hs.push(h);
    const hunt = await huntDuringDelivery(h, "vault/t-hunt-off");
    expect(hunt.found.length, JSON.stringify(hunt)).toBeGreaterThan(0);
  }, 120_000);
});
