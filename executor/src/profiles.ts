/**
 * Named profiles for the escalation ladder, loaded from config/profiles.json and validated. A job
 * names a profile (or a CLI for a direct run); which CLI runs, with which model and which keys, is
 * decided here, from the executor's own config and environment — never from the request.
 *
 * Profile env values are literals or `${VAR}` / `${VAR:-default}` references, expanded from the
 * executor's own environment when a job runs; secrets are referenced by variable name only. What a
 * CLI understands: claude ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN / ANTHROPIC_BASE_URL (+ its model
 * overrides); codex CODEX_API_KEY / CODEX_BASE_URL (the adapter makes them its provider's settings);
 * gemini GEMINI_API_KEY / GOOGLE_GEMINI_BASE_URL (CODE_ASSIST_ENDPOINT with a Google login).
 *
 * `auth` is `api_key` or `subscription`, also with `${VAR:-default}` (expanded once, at load): the
 * shipped profiles read CLAUDE_AUTH, CODEX_AUTH and GEMINI_AUTH, so an operator switches a CLI to
 * its subscription login in the environment file alone. A claude subscription profile gets the
 * executor's CLAUDE_CODE_OAUTH_TOKEN (unless its env names one); codex and gemini use their login
 * home (readiness.ts says what is missing).
 */
import { readFileSync } from "node:fs";
import { AuthMode, CliName, type JobRequest, ProfileName } from "@vault-mcp/contract";
import { z } from "zod";

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;
const REF = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

export const Profile = z.strictObject({
  cli: CliName,
  model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/[\]-]{0,99}$/, "model must be a model name like 'sonnet'"),
  /** `api_key` or `subscription`, literally or as `${VAR:-default}`. */
  auth: z.string().default("api_key"),
  env: z.record(z.string().regex(ENV_NAME, "env names are upper-case like ANTHROPIC_API_KEY"), z.string()).default({}),
  description: z.string().optional(),
});
/** A profile as loaded: its auth expanded and checked. */
export type Profile = Omit<z.infer<typeof Profile>, "auth"> & { auth: AuthMode };

const ProfilesFile = z.object({
  profiles: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "profile names are lower-case like 'gemini-flash'"),
    Profile,
  ),
  /** The two profiles a `consensus` job runs side by side. */
  consensus: z.tuple([z.string(), z.string()]),
  /** The profile a direct run (`executor: <cli>`) uses for each CLI. */
  direct: z.record(CliName, z.string()),
});
type ProfilesFile = z.infer<typeof ProfilesFile>;

/** A loaded profiles file, plus which referenced variables the environment lacks (for start-up warnings). */
export type LoadedProfiles = Omit<ProfilesFile, "profiles"> & {
  profiles: Record<string, Profile>;
  /** Profile → `${VAR}` references without a default that are unset: that profile would run without them. */
  missingEnv: Record<string, string[]>;
};

export interface ResolvedSide {
  /** The profile's name in the config. */
  name: string;
  /** What the result calls it: the name, or "direct" for a direct run. */
  profile: string;
  cli: CliName;
  model: string;
  auth: AuthMode;
  env: Record<string, string>;
}

/** What `claude setup-token` prints, read from the executor's environment for claude subscription profiles. */
export const CLAUDE_OAUTH_TOKEN_VAR = "CLAUDE_CODE_OAUTH_TOKEN";

export class ProfileError extends Error {
  override readonly name = "ProfileError";
}

export const DEFAULT_PROFILES_FILE = new URL("../config/profiles.json", import.meta.url);

type Env = Readonly<Record<string, string | undefined>>;

/** Reads, validates and cross-checks a profiles file. Throws ProfileError with every problem found. */
export function loadProfiles(file: string | URL = DEFAULT_PROFILES_FILE, env: Env = process.env): LoadedProfiles {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ProfileError(
      `cannot read the profiles file ${String(file)}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return checkProfiles(raw, env, String(file));
}

/** The validation of loadProfiles, for a value already in memory. */
export function checkProfiles(raw: unknown, env: Env = process.env, source = "profiles"): LoadedProfiles {
  const r = ProfilesFile.safeParse(raw);
  if (!r.success)
    throw new ProfileError(
      `invalid ${source}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  const file = r.data;
  const problems: string[] = [];
  for (const name of ProfileName.options) {
    if (name === "consensus") {
      if (file.profiles[name])
        problems.push("'consensus' is reserved for the pair in `consensus` and cannot be a profile");
    } else if (!file.profiles[name]) problems.push(`ladder profile '${name}' is not defined`);
  }
  const [a, b] = file.consensus;
  if (a === b) problems.push(`consensus needs two different profiles, got '${a}' twice`);
  for (const name of file.consensus)
    if (!file.profiles[name]) problems.push(`consensus names '${name}', which is not defined`);
  for (const cli of CliName.options) {
    const name = file.direct[cli];
    const p = name === undefined ? undefined : file.profiles[name];
    if (!p) problems.push(`direct.${cli} names '${name}', which is not defined`);
    else if (p.cli !== cli) problems.push(`direct.${cli} names '${name}', which runs ${p.cli}`);
  }
  const profiles: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(file.profiles)) {
    const raw = expandEnv({ auth: p.auth }, env).auth;
    const auth = AuthMode.safeParse(raw);
    if (!auth.success)
      problems.push(
        `profiles.${name}.auth is '${raw ?? p.auth}' (from '${p.auth}'); it must be api_key or subscription`,
      );
    else profiles[name] = { ...p, auth: auth.data };
  }
  if (problems.length > 0) throw new ProfileError(`invalid ${source}: ${problems.join("; ")}`);
  const missingEnv: Record<string, string[]> = {};
  for (const [name, p] of Object.entries(profiles)) {
    const missing = missingRefs(p.env, env);
    if (missing.length > 0) missingEnv[name] = missing;
  }
  return { ...file, profiles, missingEnv };
}

export function missingRefs(template: Readonly<Record<string, string>>, env: Env): string[] {
  const out = new Set<string>();
  for (const value of Object.values(template)) {
    for (const m of value.matchAll(REF)) {
      const name = m[1] as string;
      if (m[2] === undefined && (env[name] === undefined || env[name] === "")) out.add(name);
    }
  }
  return [...out].sort();
}

/** `${VAR}` and `${VAR:-default}` from `env`; an unset variable with no default drops the key. */
export function expandEnv(template: Readonly<Record<string, string>>, env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(template)) {
    let missing = false;
    const expanded = value.replace(REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (fallback !== undefined) return fallback;
      missing = true;
      return "";
    });
    if (!missing) out[key] = expanded;
  }
  return out;
}

/** One profile with its environment expanded; `model` overrides the profile's model. */
function resolveProfile(file: LoadedProfiles, name: string, env: Env, model?: string): ResolvedSide {
  const p = Object.hasOwn(file.profiles, name) ? file.profiles[name] : undefined;
  if (!p)
    throw new ProfileError(`unknown profile '${name}'; known: ${Object.keys(file.profiles).join(", ")}, consensus`);
  return { name, profile: name, cli: p.cli, model: model ?? p.model, auth: p.auth, env: profileEnv(p, env) };
}

/** A profile's env, expanded; a claude subscription also gets the executor's CLAUDE_CODE_OAUTH_TOKEN. */
export function profileEnv(p: Profile, env: Env): Record<string, string> {
  const expanded = expandEnv(p.env, env);
  const token = env[CLAUDE_OAUTH_TOKEN_VAR];
  if (p.cli === "claude" && p.auth === "subscription" && expanded[CLAUDE_OAUTH_TOKEN_VAR] === undefined && token)
    expanded[CLAUDE_OAUTH_TOKEN_VAR] = token;
  return expanded;
}

/** One side per CLI run: two for `consensus` (each with its own profile's model). */
export function resolveSides(
  file: LoadedProfiles,
  req: Pick<JobRequest, "profile" | "executor" | "model">,
  env: Env,
): ResolvedSide[] {
  if (req.profile === "consensus") return file.consensus.map((name) => resolveProfile(file, name, env));
  if (req.profile) return [resolveProfile(file, req.profile, env, req.model)];
  if (req.executor) {
    const name = file.direct[req.executor];
    if (name === undefined) throw new ProfileError(`no direct profile for '${req.executor}'`);
    return [{ ...resolveProfile(file, name, env, req.model), profile: "direct" }];
  }
  throw new ProfileError("a job needs a profile or an executor");
}
