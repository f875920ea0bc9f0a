/**
 * The Worker's REST API as the CLI sees it. Every failure becomes a CliError whose message is one
 * line a person can act on (wrong token, Worker down, not found, a refusal with the Worker's own
 * reason); answers are checked with zod so a Worker of another version fails clearly, not oddly.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { stripControls, stripControlsDeep } from "@vault-mcp/contract";
import type { z } from "zod";
import { oneLine } from "./format.ts";

/** A failure to report: one line on stderr, then exit with `exitCode` (1 unless said otherwise). */
export class CliError extends Error {
  override readonly name: string = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    // Messages quote the Worker and the caller's input: no escape sequence of theirs reaches stderr.
    super(oneLine(stripControls(message)));
    this.exitCode = exitCode;
  }
}

/** The Worker answered with an error: `status` and its wire `code` let a command explain it better. */
export class ApiError extends CliError {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The local stack's Worker port when VAULT_WORKER_PORT is not set (`npm start`'s default). */
export const DEFAULT_WORKER_PORT = 28787;
export const DEFAULT_URL = `http://127.0.0.1:${DEFAULT_WORKER_PORT}`;

export interface Target {
  url: string;
  /** Where the URL came from (`--url`, `VAULT_URL`, `VAULT_WORKER_PORT`, `default`), for "cannot reach" messages. */
  urlSource: string;
  token: string;
  /** Where the token came from, so a 401 can say which one to fix. */
  tokenSource: string;
}

/** How to point the CLI elsewhere, said whenever the Worker cannot be reached. */
export const POINT_IT =
  "start it (npm start), or point at it with --url or VAULT_URL (any Worker) or VAULT_WORKER_PORT (a local stack on another port)";

/** One line for a Worker that did not answer: the URL tried, where it came from, and how to point elsewhere. */
export function unreachable(target: Pick<Target, "url" | "urlSource">, cause: string): string {
  const from = target.urlSource === "default" ? "the default" : `from ${target.urlSource}`;
  return `cannot reach the Worker at ${target.url} (${from})${cause ? ` (${cause})` : ""}; is it running? ${POINT_IT}`;
}

const isLocal = (url: URL): boolean => ["127.0.0.1", "localhost", "[::1]", "::1"].includes(url.hostname);

/** VAULT_AUTH_TOKEN from the nearest .dev.vars at or above `cwd` (how wrangler finds its config). */
function devVarsToken(cwd: string): { token: string; file: string } | null {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const file = path.join(dir, ".dev.vars");
    if (existsSync(file)) {
      const m = /^\s*VAULT_AUTH_TOKEN\s*=\s*"?([^"\n]*?)"?\s*$/m.exec(readFileSync(file, "utf8"));
      if (m?.[1]) return { token: m[1], file };
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** --url, VAULT_URL, else the local stack on VAULT_WORKER_PORT (the port `npm start` took), else 28787. */
function rawUrl(flags: { url?: string | undefined }, env: NodeJS.ProcessEnv): { raw: string; urlSource: string } {
  if (flags.url) return { raw: flags.url, urlSource: "--url" };
  if (env.VAULT_URL) return { raw: env.VAULT_URL, urlSource: "VAULT_URL" };
  const port = env.VAULT_WORKER_PORT;
  if (port === undefined || port === "") return { raw: DEFAULT_URL, urlSource: "default" };
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535)
    throw new CliError(`VAULT_WORKER_PORT must be a port number (1-65535), got '${port}'`, 2);
  return { raw: `http://127.0.0.1:${n}`, urlSource: "VAULT_WORKER_PORT" };
}

/**
 * URL: --url, VAULT_URL, else the local stack (VAULT_WORKER_PORT or 28787). Token: --token, VAULT_AUTH_TOKEN, else the local
 * stack's .dev.vars — only for a local URL, so a dev token is never sent to a deployed Worker.
 */
export function resolveTarget(
  flags: { url?: string | undefined; token?: string | undefined },
  env: NodeJS.ProcessEnv,
  cwd: string,
): Target {
  const { raw, urlSource } = rawUrl(flags, env);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new CliError(`'${raw}' is not a URL (${urlSource}), e.g. ${DEFAULT_URL}`, 2);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new CliError(`'${raw}' must be an http(s) URL`, 2);
  const url = parsed.href.replace(/\/+$/, "");
  if (flags.token) return { url, urlSource, token: flags.token, tokenSource: "--token" };
  if (env.VAULT_AUTH_TOKEN) return { url, urlSource, token: env.VAULT_AUTH_TOKEN, tokenSource: "VAULT_AUTH_TOKEN" };
  if (isLocal(parsed)) {
    const found = devVarsToken(cwd);
    if (found) return { url, urlSource, token: found.token, tokenSource: found.file };
  }
  throw new CliError(
    `no token for ${url}: set VAULT_AUTH_TOKEN (or pass --token)${isLocal(parsed) ? ", or run from the repo after npm start wrote .dev.vars" : ""}`,
  );
}

/** Short enough that a hung Worker is reported, long enough for a cold `wrangler dev`. */
const REQUEST_TIMEOUT_MS = 30_000;

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}

export class Api {
  readonly target: Target;
  constructor(target: Target) {
    this.target = target;
  }

  get<S extends z.ZodType>(pathname: string, schema: S): Promise<z.infer<S>> {
    return this.request("GET", pathname, schema);
  }

  post<S extends z.ZodType>(pathname: string, body: unknown, schema: S, timeoutMs?: number): Promise<z.infer<S>> {
    return this.request("POST", pathname, schema, body, timeoutMs);
  }

  async request<S extends z.ZodType>(
    method: string,
    pathname: string,
    schema: S,
    body?: unknown,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<z.infer<S>> {
    const { url, token, tokenSource } = this.target;
    let res: Response;
    try {
      res = await fetch(`${url}${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (err instanceof Error && err.name === "TimeoutError")
        throw new CliError(`the Worker at ${url} did not answer ${method} ${pathname} within ${timeoutMs / 1000}s`);
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : "";
      throw new CliError(unreachable(this.target, cause));
    }
    const text = await res.text();
    let json: unknown;
    let isJson = true;
    try {
      json = JSON.parse(text);
    } catch {
      isJson = false;
    }
    if (!res.ok) {
      const wire = isJson ? (json as { error?: { code?: unknown; message?: unknown } } | null)?.error : undefined;
      const code = typeof wire?.code === "string" ? wire.code : `http_${res.status}`;
      const message = typeof wire?.message === "string" ? wire.message : `HTTP ${res.status} ${res.statusText}`.trim();
      if (res.status === 401)
        throw new ApiError(401, code, `unauthorized: the Worker at ${url} rejected the token from ${tokenSource}`);
      throw new ApiError(res.status, code, `${message} (${method} ${pathname}: ${res.status})`);
    }
    if (!isJson)
      throw new CliError(
        `the answer to ${method} ${pathname} from ${url} is not JSON (HTTP ${res.status}); is VAULT_URL the vault Worker?`,
      );
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new CliError(
        `unexpected answer to ${method} ${pathname} (${describeIssues(parsed.error.issues)}); is the Worker the same version as this CLI?`,
      );
    }
    // Every stored text an agent, a model or a caller wrote (stage messages, prompts, results) is
    // cleaned once, here, before any command can print it.
    return stripControlsDeep(parsed.data);
  }
}

/** A `.catch` that rewrites the Worker's 404 for a task as the CLI's own hint (a missing route stays as is). */
export const orUnknownTask =
  (id: string) =>
  (err: unknown): never => {
    if (err instanceof ApiError && err.status === 404 && !err.message.startsWith("no route")) {
      throw new ApiError(404, err.code, `no task '${id}' (vault tasks list shows recent tasks)`);
    }
    throw err;
  };
