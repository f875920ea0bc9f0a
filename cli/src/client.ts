/** The Worker's REST API as the CLI sees it: one clear error per failure kind, mapped to exit codes. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface Target {
  url: string;
  token: string;
}

/** Flags, then VAULT_URL / VAULT_AUTH_TOKEN, then the local stack (127.0.0.1:28787, ./.dev.vars). */
export function resolveTarget(flags: { url?: string | undefined; token?: string | undefined }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Target {
  const url = (flags.url ?? env.VAULT_URL ?? "http://127.0.0.1:28787").replace(/\/+$/, "");
  let token = flags.token ?? env.VAULT_AUTH_TOKEN;
  if (!token) {
    const vars = path.join(cwd, ".dev.vars");
    if (existsSync(vars)) token = /^VAULT_AUTH_TOKEN=(.+)$/m.exec(readFileSync(vars, "utf8"))?.[1]?.trim();
  }
  if (!token) throw new CliError("no token: pass --token, set VAULT_AUTH_TOKEN, or run from a repo with .dev.vars", 2);
  return { url, token };
}

export async function request<T>(t: Target, method: string, pathname: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${t.url}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch {
    throw new CliError(`cannot reach the Worker at ${t.url} (is it running? npm start)`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  if (res.ok) return json as T;
  const message = (json as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${res.status}`;
  if (res.status === 401) throw new CliError(`unauthorized: wrong token for ${t.url} (check VAULT_AUTH_TOKEN)`);
  if (res.status === 404) throw new CliError(`not found: ${message}`);
  throw new CliError(`${res.status}: ${message}`);
}
