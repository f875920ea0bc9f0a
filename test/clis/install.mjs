#!/usr/bin/env node
// Installs the pinned agent CLIs into test/clis/node_modules once; `npm test` calls this when the
// marker is missing. Runs with the repo's Node 22 first on PATH (claude 2.1.331 needs node >= 22).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";

const dir = import.meta.dirname;
console.log("installing the pinned agent CLIs for the contract tests (once; ~880 MB)…");
const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"], { cwd: dir, stdio: "inherit" });
if (r.status !== 0) {
  console.error("could not install the agent CLIs; the contract tests need them");
  process.exit(r.status ?? 1);
}
writeFileSync(path.join(dir, "node_modules", ".installed"), new Date().toISOString());
