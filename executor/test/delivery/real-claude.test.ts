/**
 * The whole way with the real pinned claude CLI (only the model is fake: the mock model API's `tool`
 * scenario, a real shell tool call that writes hello.txt): a job on a repo registered by URL, cloned
 * over smart HTTP, then delivered as a pull request; the remote branch holds the agent's file and
 * the GitHub stand-in exactly one pull request.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeliverResult } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPaths } from "../../../test/clis/paths.ts";
import { writeProfiles } from "../../../test/e2e/fixture.ts";
import { type MockModelApi, startMockModelApi } from "../../../test/mock-model-api/server.ts";
import { TOOL_COMMAND } from "../clis/real-harness.ts";
import { type DeliveryEnv, deliveryEnv, prBody } from "./helpers.ts";

describe("real claude CLI → push → pull request", () => {
  let mock: MockModelApi;
  let env: DeliveryEnv;
  let dir: string;

  beforeAll(async () => {
    if (!cliPaths.claude) throw new Error("the pinned claude CLI is missing (npm test installs it: npm run clis)");
    mock = await startMockModelApi({ toolCommand: TOOL_COMMAND });
    dir = mkdtempSync(path.join(os.tmpdir(), "vault-profiles-"));
    const profiles = path.join(dir, "profiles.json");
    writeProfiles(profiles, mock.url, { sonnet: "tool" });
    env = await deliveryEnv({
      env: { CLAUDE_BIN: cliPaths.claude, PROFILES_FILE: profiles, DEFAULT_TIMEOUT_MS: "60000" },
    });
  });
  afterAll(async () => {
    await env?.cleanup();
    await mock?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("claude writes hello.txt with its shell tool; delivery pushes it and opens one pull request", async () => {
    const view = await env.run("Create hello.txt");
    expect(view.status, JSON.stringify(view.result?.run.error ?? view)).toBe("succeeded");
    expect(view.result?.run.cli).toBe("claude");
    expect(view.result?.files.map((f) => f.path)).toEqual(["hello.txt"]);
    expect(view.result?.base).toMatchObject({ ref: "main", commit: env.remote.sha("app", "main"), fresh: true });
    const res = await env.deliver(view.jobId, prBody("vault/t-real"));
    const out = DeliverResult.parse(await res.json());
    expect(out).toMatchObject({ branch: "vault/t-real", commit: view.result?.commit, pr: { number: 1 } });
    expect(env.remote.show("app", "vault/t-real", "hello.txt")).toBe("hello from the agent\n");
    expect(env.gh.pulls()).toMatchObject([{ head: "vault/t-real", base: "main", state: "open" }]);
  }, 90_000);
});
