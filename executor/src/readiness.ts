/**
 * Whether each profile can run now, and if not, what to set or run: the name of a variable, a login
 * command or an install step, never a value. GET /health reports it; a job for a profile that is
 * not ready fails at once with error kind `setup` and the same text, before any worktree or CLI.
 *
 * Checked: the CLI is installed (when known), the variables the profile references are set, and the
 * credential its auth needs exists: an API key in the profile's env; claude's CLAUDE_CODE_OAUTH_TOKEN;
 * codex's auth.json or gemini's oauth_creds.json in the login home. A credential that exists but is
 * refused shows up later, as a run's `auth` error.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { CliName, ProfileReadiness } from "@vault-mcp/contract";
import { API_KEY_VARS, BIN_KEYS } from "./clis/common.ts";
import { GEMINI_LOGIN_FILES } from "./clis/gemini.ts";
import { CLAUDE_OAUTH_TOKEN_VAR, type LoadedProfiles, missingRefs, type Profile, profileEnv } from "./profiles.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** The persistent login home of a CLI under LOGINS_DIR (codex: CODEX_HOME; gemini: GEMINI_CLI_HOME). */
export function loginHome(loginsDir: string, cli: CliName): string {
  return path.join(loginsDir, cli);
}

/** The command that makes the login, as shown in `missing` and in executor/README.md. */
function loginCommand(loginsDir: string, cli: CliName): string {
  const home = loginHome(loginsDir, cli);
  if (cli === "codex")
    return `run \`CODEX_HOME=${home} codex login --device-auth -c cli_auth_credentials_store=file\` as the executor's user`;
  if (cli === "gemini")
    return `run \`GEMINI_CLI_HOME=${home} NO_BROWSER=true gemini\` as the executor's user and sign in with Google`;
  return `set ${CLAUDE_OAUTH_TOKEN_VAR} (from \`claude setup-token\`)`;
}

export interface ReadinessContext {
  env: Env;
  loginsDir: string;
  /** Whether each CLI's executable was found; null when not known (yet). */
  found: Readonly<Record<CliName, boolean | null>>;
}

/** A JSON file in the login home that holds one of `fields` (its values are never read out). */
function loginFileHas(file: string, fields: readonly string[]): boolean {
  try {
    const json: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof json !== "object" || json === null) return false;
    return fields.some((f) => {
      const v = (json as Record<string, unknown>)[f];
      return v !== null && v !== undefined && v !== "";
    });
  } catch {
    return false; // absent, unreadable or not JSON: no usable login, which readiness names as missing
  }
}

function credentialMissing(p: Profile, ctx: ReadinessContext): string | null {
  const keys = API_KEY_VARS[p.cli];
  if (p.auth === "api_key")
    return keys.some((k) => profileEnv(p, ctx.env)[k]) ? null : `set ${keys[0]} in the profile's env`;
  if (p.cli === "claude")
    return profileEnv(p, ctx.env)[CLAUDE_OAUTH_TOKEN_VAR] ? null : loginCommand(ctx.loginsDir, "claude");
  const home = loginHome(ctx.loginsDir, p.cli);
  const ok =
    p.cli === "codex"
      ? loginFileHas(path.join(home, "auth.json"), ["tokens", "OPENAI_API_KEY"])
      : loginFileHas(path.join(home, ".gemini", GEMINI_LOGIN_FILES[0]), ["refresh_token", "access_token"]);
  return ok ? null : loginCommand(ctx.loginsDir, p.cli);
}

export function profileReadiness(p: Profile, ctx: ReadinessContext): ProfileReadiness {
  const missing: string[] = [];
  if (ctx.found[p.cli] === false)
    missing.push(`install the ${p.cli} CLI (\`npm run clis\` locally) or set ${BIN_KEYS[p.cli]}`);
  // A subscription does not need the key variables the shipped profiles also reference.
  const skip = new Set(p.auth === "subscription" ? API_KEY_VARS[p.cli].flatMap((k) => refsOf(p.env[k] ?? "")) : []);
  const unset = missingRefs(p.env, ctx.env).filter((v) => !skip.has(v));
  if (unset.length > 0) missing.push(`set ${unset.join(", ")}`);
  else {
    const credential = credentialMissing(p, ctx);
    if (credential) missing.push(credential);
  }
  const base = { cli: p.cli, model: p.model, auth: p.auth };
  return missing.length === 0 ? { ...base, ready: true } : { ...base, ready: false, missing: missing.join("; ") };
}

function refsOf(value: string): string[] {
  return [...value.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1] as string);
}

export interface Readiness {
  profiles: Record<string, ProfileReadiness>;
  consensus: { profiles: [string, string]; ready: boolean; missing?: string };
}

export function readiness(file: LoadedProfiles, ctx: ReadinessContext): Readiness {
  const profiles = Object.fromEntries(
    Object.entries(file.profiles).map(([name, p]) => [name, profileReadiness(p, ctx)]),
  );
  const pair = file.consensus;
  const notReady = pair.filter((n) => !profiles[n]?.ready);
  return {
    profiles,
    consensus: {
      profiles: [pair[0], pair[1]],
      ready: notReady.length === 0,
      ...(notReady.length > 0
        ? { missing: notReady.map((n) => `${n}: ${profiles[n]?.missing ?? "not defined"}`).join("; ") }
        : {}),
    },
  };
}
