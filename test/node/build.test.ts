import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
/** Every tsconfig `npm run typecheck` runs. */
const PROJECTS = ["tsconfig.json", "executor/tsconfig.json", "cli/tsconfig.json", "tsconfig.node.json"];
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

function run(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { cwd: root, env, encoding: "utf8", timeout: 120_000 });
}

describe("build and types", () => {
  it("worker-configuration.d.ts is current (wrangler types --check)", () => {
    const r = run(bin("wrangler"), ["types", "--strict-vars=false", "--check"]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("tsc --noEmit is clean for every project", () => {
    for (const project of PROJECTS) {
      const r = run(bin("tsc"), ["--noEmit", "-p", project]);
      expect(r.status, `${project}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it("every TypeScript file in the repository is in a project the type check runs", () => {
    const covered = new Set(
      PROJECTS.flatMap((project) =>
        run(bin("tsc"), ["--listFilesOnly", "-p", project])
          .stdout.split("\n")
          .map((f) => path.relative(root, f.trim())),
      ),
    );
    const files = run("git", [
      "ls-files",
      "--cached",
      "--others",
      "--exclude-standard",
      "*.ts",
      "*.tsx",
      "*.mts",
      "*.cts",
    ])
      .stdout.split("\n")
      .filter((f) => f && !f.includes("node_modules/"));
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => !covered.has(f))).toEqual([]);
  });

  it("biome: lint and format are clean (npm run lint; npm run format fixes what it can)", () => {
    const r = run(bin("biome"), ["check", "--colors=off", "."]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("wrangler deploy --dry-run builds the Worker bundle", () => {
    const out = mkdtempSync(path.join(os.tmpdir(), "vault-build-"));
    try {
      const r = run(bin("wrangler"), ["deploy", "--dry-run", "--outdir", out]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Total Upload/);
      // Secrets must not be baked into the bundle.
      expect(readFileSync(path.join(out, "index.js"), "utf8")).not.toMatch(/VAULT_AUTH_TOKEN\s*[:=]\s*["'][^"']+["']/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
