/**
 * The self-check runs the probe's source text with `node -e` as an identity that can read none of
 * the executor's files, so that text must work on its own: as the test runner transformed it, and as
 * esbuild bundles it into dist/server.js (same options as `npm run build -w executor`).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ProbeResult, type ProbeSpec, probeProgram } from "../../src/sandbox/probe.ts";
import { importBundled } from "../bundle.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "vault-probe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runText(program: string, spec: ProbeSpec): ProbeResult[] {
  const r = spawnSync(process.execPath, ["-e", program, JSON.stringify(spec)], { encoding: "utf8", timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ProbeResult[];
}

const spec: ProbeSpec = {
  read: ["/proc/self/status", path.join(dir, "missing")],
  create: [dir],
  execute: [process.execPath],
  environ: [process.pid],
};

function check(results: ProbeResult[]): void {
  expect(results.map((r) => [r.attempt.split(" ")[0], r.ok])).toEqual([
    ["environ", true],
    ["read", true],
    ["read", false],
    ["create", true],
    ["execute", true],
  ]);
  expect(results.find((r) => r.attempt.endsWith("missing"))?.detail).toBe("ENOENT");
}

describe("the probe's source runs on its own under node -e", () => {
  it("as the test runner loaded it", () => {
    check(runText(probeProgram(), spec));
  });

  it("as esbuild bundles it for dist/server.js", async () => {
    const bundled = await importBundled<{ probeProgram: () => string }>(
      path.join(import.meta.dirname, "..", "..", "src", "sandbox", "probe.ts"),
      dir,
    );
    check(runText(bundled.probeProgram(), spec));
  });
});
