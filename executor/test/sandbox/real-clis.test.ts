/**
 * The real pinned CLIs still do their work as agent identities: each runs the mock's `tool` scenario
 * (a real shell tool call, `id -u > hello.txt`, in the worktree) through a sandboxed executor process,
 * and the job succeeds with hello.txt committed on its branch, holding the uid of an agent identity.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPaths } from "../../../test/clis/paths.ts";
import { writeProfiles } from "../../../test/e2e/fixture.ts";
import { type MockModelApi, startMockModelApi } from "../../../test/mock-model-api/server.ts";
import { type Harness, post } from "../server/harness.ts";
import {
  cleanupAll,
  IS_ROOT,
  idOf,
  makeIdentities,
  runningExecutor,
  sandboxHarness,
  type TestIdentities,
} from "./helpers.ts";

const missing = Object.entries(cliPaths).filter(([, p]) => !p);

describe.skipIf(!IS_ROOT)("real CLIs as agent identities (tool scenario: a real shell tool call)", () => {
  let ids: TestIdentities;
  let mock: MockModelApi;
  let h: Harness;
  let url: string;
  let stop: () => Promise<unknown>;

  beforeAll(async () => {
    if (missing.length > 0)
      throw new Error(`pinned CLIs missing: ${missing.map(([n]) => n).join(", ")} (npm test installs them)`);
    ids = makeIdentities(2);
    mock = await startMockModelApi({ toolCommand: "id -u > hello.txt" });
    h = sandboxHarness(ids.prefix, {
      CLAUDE_BIN: cliPaths.claude as string,
      CODEX_BIN: cliPaths.codex as string,
      GEMINI_BIN: cliPaths.gemini as string,
    });
    const profiles = path.join(h.dir, "data-profiles.json");
    writeProfiles(profiles, mock.url, { sonnet: "tool", codex: "tool", "gemini-flash": "tool" });
    ({ url, stop } = await runningExecutor(h, { PROFILES_FILE: profiles, DEFAULT_TIMEOUT_MS: "60000" }));
  });
  afterAll(() =>
    cleanupAll(
      () => stop?.(),
      () => mock?.close(),
      () => h?.cleanup(),
      () => ids?.remove(),
    ),
  );

  for (const cli of ["claude", "codex", "gemini"] as const) {
    it(`${cli}: creates hello.txt with its shell tool and the job succeeds`, async () => {
      const res = await post(`${url}/execute`, {
        jobKey: `tool-${cli}`,
        executor: cli,
        prompt: "Create hello.txt",
        repo: "demo",
      });
      const view = (await res.json()) as {
        status: string;
        result: { run: { cli: string; error?: unknown }; files: { path: string }[]; branch: string; commit: string };
      };
      expect(view.status, JSON.stringify(view.result?.run.error ?? view)).toBe("succeeded");
      expect(view.result.run.cli).toBe(cli);
      expect(view.result.files.map((f) => f.path)).toEqual(["hello.txt"]);
      const repo = path.join(h.dir, "repos", "demo");
      const show = (spec: string) => execFileSync("git", ["-C", repo, "show", spec], { encoding: "utf8" });
      const uids = ids.names.map((n) => String(idOf(n).uid));
      expect(uids).toContain(show(`${view.result.commit}:hello.txt`).trim());
    }, 90_000);
  }
});
