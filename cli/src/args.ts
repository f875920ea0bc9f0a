/**
 * Flag parsing (node:util parseArgs, strict) and the checks that turn a bad value into a usage
 * error (exit 2) before anything is sent. Task ids, statuses and profile names are checked with the
 * project's own schemas, so the CLI accepts exactly what the Worker does.
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { ProfileName, TaskId, TaskStatus } from "@vault-mcp/contract";
import type { z } from "zod";

/** Bad usage: the message, then the command's usage, and exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Flags every command takes; they may come before or after the command name. */
export const GLOBAL_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

export const GLOBAL_HELP = `  --url <url>      the Worker (default: $VAULT_URL, else the local stack on
                   http://127.0.0.1:$VAULT_WORKER_PORT, else http://127.0.0.1:28787)
  --token <token>  bearer token (default: $VAULT_AUTH_TOKEN, else the local stack's .dev.vars;
                   prefer the variable: a flag shows up in ps and shell history)
  -h, --help       show help for the command`;

function isParseArgsError(e: unknown): e is Error & { code: string } {
  return e instanceof Error && "code" in e && typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS");
}

/** Parses a command's flags (plus the global ones); unknown flags and missing values are usage errors. */
export function parseFlags<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    // Node's message goes on to explain `--` for positionals starting with '-': keep the first sentence.
    if (isParseArgsError(e)) throw new UsageError(e.message.split(/\.\s/)[0]?.replace(/\.$/, "") ?? e.message);
    throw e;
  }
}

export function taskId(value: string | undefined, what = "a task id"): string {
  if (value === undefined) throw new UsageError(`give ${what}`);
  if (!TaskId.safeParse(value).success)
    throw new UsageError(`'${value}' is not a task id; they look like t-20261124-1530-ab12cd`);
  return value;
}

/** The API's window syntax: `90m`, `24h`, `7d`. */
export function since(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}[mhd]$/.test(value)) throw new UsageError(`--since takes a window like 90m, 24h or 7d, not '${value}'`);
  return value;
}

/** `failed,halted` or repeated flags → statuses, each checked. */
export function statuses(values: readonly string[] | undefined): TaskStatus[] | undefined {
  if (!values || values.length === 0) return undefined;
  const all = values
    .flatMap((v) => v.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of all) {
    if (!TaskStatus.safeParse(s).success)
      throw new UsageError(`unknown status '${s}'; one of ${TaskStatus.options.join(", ")}`);
  }
  return all as TaskStatus[];
}

export function profile(flag: string, value: string | undefined): ProfileName | undefined {
  if (value === undefined) return undefined;
  const p = ProfileName.safeParse(value);
  if (!p.success) throw new UsageError(`${flag} takes a profile: ${ProfileName.options.join(", ")}; not '${value}'`);
  return p.data;
}

export function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, not '${value}'`);
  return n;
}

export function positive(flag: string, value: string | undefined, max = Number.POSITIVE_INFINITY): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/^\$/, ""));
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new UsageError(
      `${flag} takes a positive number${Number.isFinite(max) ? ` up to ${max}` : ""}, not '${value}'`,
    );
  return n;
}

export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
}

/**
 * A flag or argument checked with the contract's own schema, so the CLI refuses (exit 2) what the
 * Worker would: `--deliver takes none, push or pr, not 'x'` with a hint, else the schema's message.
 */
export function schemaValue<S extends z.ZodType>(
  what: string,
  schema: S,
  value: string | undefined,
  hint?: string,
): z.infer<S> | undefined {
  if (value === undefined) return undefined;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new UsageError(
    hint ? `${what} takes ${hint}, not '${value}'` : `${what}: ${r.error.issues[0]?.message ?? "invalid"}`,
  );
}
