/**
 * Subscription logins for runs as agent identities (AGENT_SANDBOX=on). An identity may not enter the
 * executor's login home, so before the run the adapter's login files are copied into the run's home
 * (then handed to the identity with the rest of it), and after the run a file the CLI changed (a
 * token it refreshed) is read back and written to the login home, atomically (a temp file and a
 * rename), unless the login home changed meanwhile (a new login by hand wins). The agent could have
 * written anything there: only a JSON object that keeps every field the login had, for the same
 * account, goes back; anything else is logged and dropped.
 *
 * A login whose refresh token is single-use (codex: OpenAI rotates it on every refresh) is held by
 * one run at a time: two runs with copies of the same refresh token would both refresh, and the
 * second would present a token already used, which can revoke the whole login.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { readIfExists } from "./fs-missing.ts";
import type { LoginFiles } from "./interfaces.ts";
import { log } from "./log.ts";
import { type HomeOwner, readBack } from "./sandbox/homes.ts";

/** What was copied, to know afterwards what the CLI changed. */
export type LoginCopy = ReadonlyMap<string, Buffer>;

export async function copyLogin(files: LoginFiles, loginHome: string, home: string): Promise<LoginCopy> {
  const copied = new Map<string, Buffer>();
  for (const f of files.files) {
    const bytes = await readIfExists(path.join(loginHome, f.login));
    if (bytes === null) continue; // an optional file (gemini's google_accounts.json)
    const dest = path.join(home, f.run);
    await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    await writeFile(dest, bytes, { mode: 0o600 });
    copied.set(f.login, bytes);
  }
  return copied;
}

export interface WriteBackOptions {
  files: LoginFiles;
  /** What copyLogin copied into the run's home. */
  copy: LoginCopy;
  loginHome: string;
  /** The run's home. */
  home: string;
  /** The identity the run's home belongs to (null: the executor's own). */
  owner: HomeOwner | null;
}

/** Writes back what the CLI changed in its copies; returns the login files that were updated. */
export async function writeBackLogin({ files, copy, loginHome, home, owner }: WriteBackOptions): Promise<string[]> {
  const updated: string[] = [];
  for (const f of files.files) {
    const before = copy.get(f.login);
    if (!before) continue;
    const after = await readBack(home, f.run, owner);
    if (after === null || after.length === 0 || after.equals(before)) continue;
    if (!sameLogin(before, after)) {
      log("warn", "login_write_back_refused", { file: f.login, reason: "not the same login" });
      continue;
    }
    const target = path.join(loginHome, f.login);
    const current = await readIfExists(target);
    if (current !== null && !current.equals(before)) {
      log("warn", "login_changed_meanwhile", { file: target });
      continue;
    }
    const tmp = `${target}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(tmp, after, { mode: 0o600 });
    await rename(tmp, target);
    updated.push(f.login);
  }
  return updated;
}

const asObject = (b: Buffer): Record<string, unknown> | null => {
  try {
    const v: unknown = JSON.parse(b.toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null; // not JSON: not a login, which the caller refuses and logs
  }
};

/**
 * A refresh of the same login: a JSON object with every field the copy had set still set, and the
 * same account (codex's tokens.account_id) where there is one. Field values change (new tokens).
 */
export function sameLogin(before: Buffer, after: Buffer): boolean {
  const a = asObject(before);
  const b = asObject(after);
  if (!a || !b) return false;
  for (const [k, v] of Object.entries(a))
    if (v !== null && v !== undefined && (b[k] === null || b[k] === undefined)) return false;
  const account = (o: Record<string, unknown>) => (o.tokens as Record<string, unknown> | undefined)?.account_id;
  return account(a) === account(b);
}

/** One holder at a time per key (a login home), in arrival order. */
export class LoginLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<() => void> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => held);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    await prev;
    return release;
  }
}
