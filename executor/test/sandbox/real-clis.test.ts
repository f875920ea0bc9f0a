import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { cliPaths } from "../../../test/clis/paths.ts";
import { writeProfiles } from "../../../test/e2e/fixture.ts";
import { type MockModelApi, startMockModelApi } from "../../../test/mock-model-api/server.ts";
import type { Harness } from "../server/harness.ts";
import {
  cleanupAll,
  expectToolJobAsIdentity,
  IS_ROOT,
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
    it(
      `${cli}: creates hello.txt with its shell tool and the job succeeds`,
      () => expectToolJobAsIdentity(url, h, ids, cli, `tool-${cli}`),
      90_000,
    );
  }
});
