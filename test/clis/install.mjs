#!/usr/bin/env node
// Installs the pinned agent CLIs into test/clis/node_modules, once (~880 MB; cached, git-ignored).
// `npm run clis` runs it (the documented step; `npm start` then uses these CLIs), and `npm test`
// (scripts/test.mjs) runs it with Node 22 when node_modules/.installed is missing.
// The node running this script is put first on npm's PATH: claude 2.1.331 declares node >= 22, and
// an older node's npm would quietly install 2.1.197 instead. After the install each CLI must print
// its pinned version, else the marker is not written and the next `npm test` tries again.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const dir = import.meta.dirname;
const marker = path.join(dir, "node_modules", ".installed");
const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` };
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `test/clis/install.mjs needs node >= 22 (this is ${process.version}); run it through npm test or the repo's node_modules/.bin/node`,
  );
  process.exit(1);
}

const pins = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).dependencies;
const checks = [
  ["claude", pins["@anthropic-ai/claude-code"]],
  ["codex", pins["@openai/codex"]],
  ["gemini", pins["@google/gemini-cli"]],
];

/** Each CLI is installed and prints its pinned version; else the first problem. */
async function problem() {
  // A fresh import: paths.ts looks for the binaries when it loads, and an install may have added them.
  const { cliPaths } = await import(`./paths.ts?${Date.now()}`);
  for (const [name, version] of checks) {
    const bin = cliPaths[name];
    if (!bin) return `${name} is missing after the install`;
    const v = spawnSync(bin, ["--version"], { env, encoding: "utf8", timeout: 60_000 });
    if (v.status !== 0 || !v.stdout.includes(version))
      return `${name} did not report version ${version} (${bin}): ${(v.stdout || v.stderr || String(v.error)).trim()}`;
  }
  return null;
}

// Installed already (the pinned versions answer): nothing to fetch. npm install would re-resolve the
// whole tree against the registry whenever its hidden lockfile is stale, which takes minutes.
// `--verify` only checks (no registry access).
const before = existsSync(marker) || process.argv.includes("--verify") ? await problem() : "not installed";
if (before !== null) {
  if (process.argv.includes("--verify")) {
    console.error(before);
    process.exit(1);
  }
  console.log("installing the pinned agent CLIs for the contract tests (once; ~880 MB)…");
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"], {
    cwd: dir,
    stdio: "inherit",
    env,
  });
  if (r.status !== 0) {
    console.error("could not install the agent CLIs; the contract tests need them");
    process.exit(r.status ?? 1);
  }
  const after = await problem();
  if (after !== null) {
    console.error(after);
    process.exit(1);
  }
}
writeFileSync(marker, `${new Date().toISOString()}\n`);
console.log("agent CLIs installed:", checks.map(([n, v]) => `${n} ${v}`).join(", "));
