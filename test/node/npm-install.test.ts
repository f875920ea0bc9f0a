/**
 * `npm ci` from a fresh clone, with the machine's own npm and node (20 here): the engine warnings
 * npm prints because it runs on node 20 while every script runs on the pinned node 22 must not
 * bury the install's end (.npmrc `loglevel=error`). A dry run resolves the same tree and runs the
 * same engine checks, without touching node_modules.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { systemEnv } from "../e2e/npm-start.ts";

const npmDryRun = (...extra: string[]) =>
  spawnSync("npm", ["install", "--dry-run", "--no-audit", "--no-fund", "--ignore-scripts", ...extra], {
    cwd: ROOT,
    env: systemEnv(),
    encoding: "utf8",
  });

const systemNode = spawnSync("node", ["-p", "process.versions.node"], { env: systemEnv(), encoding: "utf8" }).stdout;
const belowPinned = Number(systemNode.split(".")[0]) < 22;

describe("npm install on the system node", () => {
  it("ends without a wall of EBADENGINE warnings", () => {
    const r = npmDryRun();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain("EBADENGINE");
  });

  it.runIf(belowPinned)("the warnings are there to hide (so the check above can fail)", () => {
    const r = npmDryRun("--loglevel=warn");
    expect(r.stdout + r.stderr).toContain("EBADENGINE");
  });
});
