/**
 * A checkout under a folder other users cannot enter (root's home, a `mktemp -d`): the pinned CLIs
 * and the node the executor runs on sit below a 0700 directory. Built here for real: the CLIs' tree
 * and node are hard-linked (no copy of ~1 GB) under a fresh 0700 directory, and the executor runs on
 * that node with GEMINI_BIN (a script node must open, as the identity) and CLAUDE_BIN inside it. The
 * jobs must still succeed as the agent identities: the executor stages what they run (stage.ts).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIS_DIR, cliPaths } from "../../../test/clis/paths.ts";
import { writeProfiles } from "../../../test/e2e/fixture.ts";
import { type MockModelApi, startMockModelApi } from "../../../test/mock-model-api/server.ts";
import { type Harness, MAIN } from "../server/harness.ts";
import {
  cleanupAll,
  expectToolJobAsIdentity,
  IS_ROOT,
  idOf,
  makeIdentities,
  runningExecutor,
  sandboxHarness,
  type TestIdentities,
} from "./helpers.ts";

describe.skipIf(!IS_ROOT)("a checkout under a folder closed to other users", () => {
  let closed: string;
  let ids: TestIdentities;
  let mock: MockModelApi;
  let h: Harness;
  let url: string;
  let stop: () => Promise<unknown>;
  let health: { sandbox?: { clis?: Record<string, boolean> } };

  beforeAll(async () => {
    if (!cliPaths.gemini || !cliPaths.claude) throw new Error("pinned CLIs missing (npm test installs them)");
    closed = mkdtempSync(path.join(os.tmpdir(), "vault-closed-")); // 0700, like root's home
    // The CLIs' node_modules and a node, as a clone there would have them (cp -al: hard links).
    const modules = path.join(closed, "checkout", "test", "clis", "node_modules");
    mkdirSync(path.dirname(modules), { recursive: true });
    execFileSync("cp", ["-al", realpathSync(path.join(CLIS_DIR, "node_modules")), modules]);
    const node = path.join(closed, "checkout", "node_modules", "node", "bin", "node");
    mkdirSync(path.dirname(node), { recursive: true });
    linkSync(realpathSync(process.execPath), node);
    const inside = (p: string) =>
      path.join(modules, path.relative(realpathSync(path.join(CLIS_DIR, "node_modules")), realpathSync(p)));

    ids = makeIdentities(2);
    mock = await startMockModelApi({ toolCommand: "id -u > hello.txt" });
    h = sandboxHarness(ids.prefix, { CLAUDE_BIN: inside(cliPaths.claude), GEMINI_BIN: inside(cliPaths.gemini) });
    const profiles = path.join(h.dir, "data-profiles.json");
    writeProfiles(profiles, mock.url, { sonnet: "tool", "gemini-flash": "tool" });
    ({ url, stop } = await runningExecutor(h, { PROFILES_FILE: profiles, DEFAULT_TIMEOUT_MS: "60000" }, [], {
      node,
      main: MAIN,
    }));
    health = (await (await fetch(`${url}/health`)).json()) as typeof health;
  });
  afterAll(() =>
    cleanupAll(
      () => stop?.(),
      () => mock?.close(),
      () => h?.cleanup(),
      () => ids?.remove(),
      () => rmSync(closed, { recursive: true, force: true }),
    ),
  );

  it("the folder is really closed: an identity cannot read the CLI there (so the jobs below can fail)", () => {
    const id = idOf(ids.names[0] as string);
    const r = spawnSync(
      "setpriv",
      [`--reuid=${id.uid}`, `--regid=${id.gid}`, "--clear-groups", "--", "/bin/cat", h.env.GEMINI_BIN as string],
      { encoding: "utf8" },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Permission denied");
  });

  it("the identities can execute every CLI: they were staged where they can reach them", () => {
    expect(health.sandbox?.clis).toMatchObject({ claude: true, gemini: true });
    expect(existsSync(path.join(h.dir, "data", "agent-tools"))).toBe(true);
  });

  for (const cli of ["gemini", "claude"] as const) {
    it(
      `${cli}: the job runs as an identity and succeeds`,
      () => expectToolJobAsIdentity(url, h, ids, cli, `closed-${cli}`),
      90_000,
    );
  }
});
