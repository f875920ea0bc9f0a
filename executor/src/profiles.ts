/**
 * Named profiles for the escalation ladder, loaded from a JSON file and validated. A job names a
 * profile (or a CLI for a direct run); what runs, with which model and which keys, is decided here,
 * from the executor's own config and environment — never from the request.
 */
import { readFileSync } from "node:fs";
import { CliName, type JobRequest } from "@vault-mcp/contract";
import { z } from "zod";

const Profile = z.strictObject({ cli: CliName, model: z.string().min(1), env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()).default({}) });
export const ProfilesFile = z.object({
  profiles: z.record(z.string(), Profile),
  consensus: z.tuple([z.string(), z.string()]),
  direct: z.record(CliName, z.string()),
});
export type ProfilesFile = z.infer<typeof ProfilesFile>;

export interface ResolvedSide {
  profile: string;
  cli: CliName;
  model: string;
  env: Record<string, string>;
}

export class ProfileError extends Error {
  override readonly name = "ProfileError";
}

export const DEFAULT_PROFILES_FILE = new URL("../config/profiles.json", import.meta.url);

export function loadProfiles(file: string | URL = DEFAULT_PROFILES_FILE): ProfilesFile {
  const parsed = ProfilesFile.parse(JSON.parse(readFileSync(file, "utf8")));
  for (const name of [...parsed.consensus, ...Object.values(parsed.direct)]) {
    if (!parsed.profiles[name]) throw new ProfileError(`profiles file names '${name}' but does not define it`);
  }
  return parsed;
}

/** `${VAR}` and `${VAR:-default}` from `env`; an unset variable with no default drops the key. */
export function expandEnv(template: Readonly<Record<string, string>>, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(template)) {
    let missing = false;
    const expanded = value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
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

/** One side per CLI run: two for `consensus`. */
export function resolveSides(
  file: ProfilesFile,
  req: Pick<JobRequest, "profile" | "executor" | "model">,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedSide[] {
  const side = (name: string, model?: string): ResolvedSide => {
    const p = file.profiles[name];
    if (!p) throw new ProfileError(`unknown profile '${name}'; known: ${Object.keys(file.profiles).join(", ")}, consensus`);
    return { profile: name, cli: p.cli, model: model ?? p.model, env: expandEnv(p.env, env) };
  };
  if (req.profile === "consensus") return file.consensus.map((name) => side(name));
  if (req.profile) return [side(req.profile, req.model)];
  if (req.executor) {
    const base = side(file.direct[req.executor] ?? "", req.model);
    return [{ ...base, profile: "direct" }];
  }
  throw new ProfileError("a job needs a profile or an executor");
}
