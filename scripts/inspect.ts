/**
 * `npm run inspect [-- <inspector flags>]`: the pinned MCP Inspector CLI (a dev dependency, run on
 * the repo's Node 22) against the Worker's /mcp, with the URL and bearer token found the way the
 * `vault` CLI finds them (VAULT_URL / VAULT_AUTH_TOKEN, else the local stack on VAULT_WORKER_PORT
 * and its .dev.vars). Without flags it lists the tools: `npm run inspect -- --method tools/call --tool-name health`.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { CliError, resolveTarget, type Target, unreachable } from "../cli/src/http.ts";
import { ROOT } from "./stack.ts";

const args = process.argv.slice(2);
let target: Target;
try {
  target = resolveTarget({}, process.env, ROOT);
} catch (err) {
  console.error(`inspect: ${err instanceof CliError ? err.message : String(err)}`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
}
// The Inspector's own error for a Worker that is not there is a stack trace: say what was tried instead.
try {
  await fetch(`${target.url}/health`, { signal: AbortSignal.timeout(10_000) });
} catch (err) {
  const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  console.error(`inspect: ${unreachable(target, cause)}`);
  process.exit(1);
}
const inspector = path.join(ROOT, "node_modules", ".bin", "mcp-inspector");
const r = spawnSync(
  inspector,
  [
    "--cli",
    `${target.url}/mcp`,
    "--transport",
    "http",
    "--header",
    `Authorization: Bearer ${target.token}`,
    ...(args.length ? args : ["--method", "tools/list"]),
  ],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
