/**
 * EXECUTOR_ENV_FILE: an environment file the executor reads itself, in the syntax of systemd's
 * EnvironmentFile (KEY=value lines, `#` comments, optional `export `, a value in single or double
 * quotes). `npm start` points it at .vault/executor.env, where local keys and tokens live. Under
 * systemd the unit's EnvironmentFile does the same job and this variable stays unset.
 *
 * The process's own environment wins over the file (an empty value counts as unset), so a key
 * exported in the shell overrides the file for one run. Errors name the line, never its content:
 * the file holds secrets.
 */
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./config.ts";

type Env = Readonly<Record<string, string | undefined>>;

const LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

export function parseEnvFile(text: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) throw new ConfigError(`${source} line ${i + 1} is not KEY=value (a name of letters, digits and _, then =)`);
    let value = (m[2] as string).trim();
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] as string;
    out[m[1] as string] = value;
  }
  return out;
}

/** `env` with the file named by its EXECUTOR_ENV_FILE underneath; `env` unchanged when unset. */
export function withEnvFile(env: Env): { env: Env; file: string | null; groupReadable: boolean } {
  const file = env.EXECUTOR_ENV_FILE?.trim();
  if (!file) return { env, file: null, groupReadable: false };
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, "utf8");
    mode = statSync(file).mode;
  } catch (err) {
    const why = err instanceof Error && "code" in err ? String(err.code) : "unreadable";
    throw new ConfigError(`EXECUTOR_ENV_FILE=${file} cannot be read (${why})`);
  }
  const fromFile = parseEnvFile(text, file);
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== "") merged[k] = v;
  return { env: merged, file, groupReadable: (mode & 0o077) !== 0 };
}
