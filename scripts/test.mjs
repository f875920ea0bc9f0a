#!/usr/bin/env node
// `npm test`: make sure the pinned agent CLIs are installed for the contract tests (once, cached in
// test/clis/node_modules), then run every vitest project. The last line is `N passed, N failed`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const clis = path.join(root, "test", "clis");
if (existsSync(path.join(clis, "package.json")) && !existsSync(path.join(clis, "node_modules", ".installed"))) {
  const r = spawnSync("node", [path.join(clis, "install.mjs")], { stdio: "inherit", cwd: clis });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
const r = spawnSync(process.execPath, [vitest, "run", ...process.argv.slice(2)], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
