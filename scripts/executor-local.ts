/**
 * The executor's side of `npm start`: its local credentials file (.vault/executor.env, read by the
 * executor through EXECUTOR_ENV_FILE), the pinned agent CLIs of `npm run clis`, and the readiness
 * report printed once the stack is up.
 */
import { existsSync, writeFileSync } from "node:fs";
import type { ExecutorHealth } from "@vault-mcp/contract";
import { cliPaths, missingClis } from "../test/clis/paths.ts";

const TEMPLATE = `# Local credentials for the executor \`npm start\` runs (it reads this file through EXECUTOR_ENV_FILE).
# .vault/ is git-ignored: never commit a filled-in copy. KEY=value lines, no shell expansion; the
# shell's own environment wins over this file. Restart \`npm start\` after an edit.
#
# API keys, one per provider (the profiles each one serves):
#ANTHROPIC_API_KEY=        # sonnet, opus
#DEEPSEEK_API_KEY=         # deepseek
#GEMINI_API_KEY=           # gemini-flash, gemini-pro
#OPENAI_API_KEY=           # codex
#
# Or a Claude Max/Pro subscription for sonnet and opus: run \`claude setup-token\`, then
#CLAUDE_AUTH=subscription
#CLAUDE_CODE_OAUTH_TOKEN=
#
# codex (ChatGPT) and gemini (Google) subscriptions log in once into .vault/executor/logins/<cli>:
# see executor/README.md, "Subscription logins on the VM", then
#CODEX_AUTH=subscription
#GEMINI_AUTH=subscription
`;

/** Creates the file (mode 0600, everything commented out) when it is missing; returns whether it did. */
export function ensureExecutorEnvFile(file: string): boolean {
  if (existsSync(file)) return false;
  writeFileSync(file, TEMPLATE, { mode: 0o600 });
  return true;
}

/**
 * The pinned CLIs' executables for the executor (codex's native binary, so no node wrapper sits
 * between it and a kill), or null with what to run when `npm run clis` has not been run.
 */
export function pinnedClis(): { env: Record<string, string> } | { missing: string } {
  const missing = missingClis();
  if (missing.length > 0)
    return { missing: `${missing.join(", ")} not installed: run \`npm run clis\` (the pinned versions the tests use)` };
  return {
    env: {
      CLAUDE_BIN: String(cliPaths.claude),
      CODEX_BIN: String(cliPaths.codex),
      GEMINI_BIN: String(cliPaths.gemini),
    },
  };
}

/** `set A, B` → the variables to add; anything else (install, login) is said as it is. */
function toAdd(missing: string): { vars: string[]; other: string[] } {
  const vars: string[] = [];
  const other: string[] = [];
  for (const part of missing.split("; ")) {
    const m = /^set ([A-Z0-9_, ]+)$/.exec(part);
    if (m) vars.push(...(m[1] as string).split(", "));
    else other.push(part);
  }
  return { vars, other };
}

/** One line per profile, and when none can run, exactly what to add to the env file. */
export function readinessReport(health: ExecutorHealth, envFile: string): string {
  const names = Object.keys(health.profiles);
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((name) => {
    const p = health.profiles[name] as ExecutorHealth["profiles"][string];
    const what = p.ready ? "ready" : `missing: ${p.missing ?? "?"}`;
    return `  ${name.padEnd(width)}  ${p.cli.padEnd(6)}  ${p.auth.padEnd(12)}  ${what}`;
  });
  const out = ["profiles:", ...lines];
  if (names.some((n) => health.profiles[n]?.ready)) return out.join("\n");

  const byVar = new Map<string, string[]>();
  const other = new Map<string, string[]>();
  for (const name of names) {
    const { vars, other: rest } = toAdd(health.profiles[name]?.missing ?? "");
    for (const v of vars) byVar.set(v, [...(byVar.get(v) ?? []), name]);
    for (const o of rest) other.set(o, [...(other.get(o) ?? []), name]);
  }
  const vw = Math.max(0, ...[...byVar.keys()].map((v) => v.length + 2));
  out.push(
    "",
    `No profile can run: every job would fail at once. Add one of these to ${envFile}, then restart npm start:`,
    ...[...byVar].map(([v, ps]) => `  ${`${v}=…`.padEnd(vw)}  # ${ps.join(", ")}`),
    "  or a Claude subscription: CLAUDE_AUTH=subscription and CLAUDE_CODE_OAUTH_TOKEN=… (from `claude setup-token`)",
  );
  if (other.size > 0) out.push("Also:", ...[...other].map(([o, ps]) => `  ${o}  (${ps.join(", ")})`));
  return out.join("\n");
}
