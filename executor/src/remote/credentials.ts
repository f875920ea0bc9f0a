/**
 * GIT_CREDENTIALS: a file in git's credential-store format, one `https://user:token@host` per line,
 * read only by the executor. Its git gets a credential through a helper that answers `get` from this
 * file and ignores `store` and `erase`: git's own `store` helper would rewrite the file after every
 * success and delete a line after a 401, i.e. a transient refusal would erase the operator's token.
 *
 * The helper is `node -e <program> <file>`: the program is lookupCredential's and helperMain's source
 * text (both self-contained), so nothing is written to disk, and what is visible in /proc (argv, the
 * git processes' environment) is a program and a path, never a token. The token travels only on the
 * helper's stdout pipe into git.
 */
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { isMissing } from "../fs-missing.ts";

export interface Credential {
  username: string;
  password: string;
}

/**
 * The first line of a credential-store text that matches `want` (git's rules: same protocol and
 * host, host including a non-default port; a path only when git asks with one). Self-contained: its
 * source runs as the helper under `node -e`.
 */
export function lookupCredential(
  text: string,
  want: { protocol: string; host: string; path?: string },
): Credential | null {
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      // a malformed %-escape: taken as written
      return s;
    }
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    let u: URL;
    try {
      u = new URL(line);
    } catch {
      // not a URL: a junk line, skipped as git's store helper skips it
      continue;
    }
    if (u.protocol !== `${want.protocol}:` || u.host.toLowerCase() !== want.host.toLowerCase()) continue;
    if (u.password === "") continue;
    const stored = u.pathname.replace(/^\/+/, "");
    if (want.path !== undefined && stored !== "" && stored !== want.path.replace(/^\/+/, "")) continue;
    return { username: dec(u.username), password: dec(u.password) };
  }
  return null;
}

/** The helper's main (self-contained): `get` answers from the file, everything else does nothing. */
function helperMain(lookup: typeof lookupCredential): void {
  const fs = process.getBuiltinModule("node:fs");
  const [file, action] = process.argv.slice(1);
  if (action !== "get" || file === undefined) return;
  const want: Record<string, string> = {};
  for (const line of fs.readFileSync(0, "utf8").split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) want[line.slice(0, i)] = line.slice(i + 1);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    // No file, no credential: git then fails with "could not read Username", which reads as auth.
    return;
  }
  const found = lookup(text, {
    protocol: want.protocol ?? "",
    host: want.host ?? "",
    ...(want.path !== undefined ? { path: want.path } : {}),
  });
  // A newline in either would inject another attribute into git's protocol.
  if (found && !/[\n\r\0]/.test(found.username + found.password))
    process.stdout.write(`username=${found.username}\npassword=${found.password}\n`);
}

/** sh single-quoting: git runs a helper's command line through the shell. */
const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * `-c` options for a git command that talks to a remote: any configured helper dropped, ours added
 * when a credentials file is configured; no prompt, no askpass; only http(s) as a transport (a
 * redirect or a submodule to `file:` or `ext::` is refused).
 */
export function remoteConfigArgs(credentialsFile: string | undefined, node = process.execPath): string[] {
  const program = `(${helperMain.toString()})(${lookupCredential.toString()})`;
  const args = [
    "-c",
    "credential.helper=",
    "-c",
    "core.askPass=",
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
    "-c",
    "protocol.http.allow=always",
  ];
  if (credentialsFile) args.push("-c", `credential.helper=!${shq(node)} -e ${shq(program)} ${shq(credentialsFile)}`);
  return args;
}

/** The credential for a remote URL's host (GitHub's API token is the one of the repo's host). */
export function credentialForUrl(credentialsFile: string | undefined, url: string): Credential | null {
  if (!credentialsFile) return null;
  const u = new URL(url);
  return lookupCredential(readCredentials(credentialsFile), { protocol: u.protocol.replace(/:$/, ""), host: u.host });
}

/** Every secret in the file, to be cut out of any message that quotes a remote's answer. */
export function secretsIn(credentialsFile: string | undefined): string[] {
  if (!credentialsFile) return [];
  const out: string[] = [];
  let text: string;
  try {
    text = readCredentials(credentialsFile);
  } catch {
    // A file the executor cannot read is one its git could not use either: nothing of it can appear.
    return [];
  }
  for (const line of text.split("\n")) {
    try {
      const u = new URL(line.trim());
      if (u.password) out.push(u.password, decodeURIComponent(u.password));
    } catch {
      // not a URL line: nothing to redact from it
    }
  }
  return out.filter((s) => s.length >= 4);
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.replaceAll(s, "***");
  return out;
}

/** The file's text; "" when it does not exist; throws when it cannot be read (EACCES, EIO). */
function readCredentials(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if (isMissing(err)) return "";
    throw err;
  }
}

/** What is wrong with the GIT_CREDENTIALS file, for a start-up warning (never its content), or null. */
export function credentialsFileProblem(file: string | undefined): { event: string; fix: string } | null {
  if (!file) return null;
  try {
    accessSync(file, constants.R_OK);
  } catch {
    // Missing or not readable: either way the executor's git cannot use it, which is the warning.
    return { event: "git_credentials_unreadable", fix: `make ${file} readable by the executor's user (mode 0600)` };
  }
  if ((statSync(file).mode & 0o077) !== 0)
    return { event: "git_credentials_readable_by_others", fix: `chmod 600 ${file}` };
  return null;
}
