/**
 * The executor's credential helper, driven by real git (`git credential fill/approve/reject` with the
 * same `-c` options the executor's remote commands get): it answers from GIT_CREDENTIALS by host, and
 * never writes the file (git's own `store` helper would erase a line after one 401).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RemoteUrl } from "@vault-mcp/contract";
import { afterAll, describe, expect, it } from "vitest";
import { credentialsFileProblem, lookupCredential, redact, remoteConfigArgs } from "../../src/remote/credentials.ts";
import { classifyRemoteFailure } from "../../src/remote/remote-git.ts";
import { importBundled } from "../bundle.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "vault-cred-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STORE = [
  "# the operator's tokens",
  "https://x-access-token:ghp_github0000@github.com",
  "https://ci:p%40ss%3Aword@git.example.com:8443",
  "http://local:tok-local@127.0.0.1:9000",
  "https://scoped:tok-scoped@scoped.example.com/org/app.git",
  "not a url",
  "",
].join("\n");

function fill(
  file: string,
  query: string,
  action = "fill",
  configArgs = remoteConfigArgs,
): { status: number | null; stdout: string } {
  const r = spawnSync("git", [...configArgs(file), "credential", action], {
    input: `${query}\n\n`,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_TERMINAL_PROMPT: "0",
    },
  });
  return { status: r.status, stdout: r.stdout };
}

describe("lookupCredential", () => {
  it("matches protocol and host (port included), decodes the user and token, skips comments and junk", () => {
    expect(lookupCredential(STORE, { protocol: "https", host: "github.com" })).toEqual({
      username: "x-access-token",
      password: "ghp_github0000",
    });
    expect(lookupCredential(STORE, { protocol: "https", host: "git.example.com:8443" })?.password).toBe("p@ss:word");
    expect(lookupCredential(STORE, { protocol: "https", host: "git.example.com" })).toBeNull();
    expect(lookupCredential(STORE, { protocol: "https", host: "127.0.0.1:9000" })).toBeNull();
    expect(lookupCredential(STORE, { protocol: "http", host: "127.0.0.1:9000" })?.password).toBe("tok-local");
    expect(lookupCredential(STORE, { protocol: "https", host: "GitHub.com" })?.password).toBe("ghp_github0000");
    // A stored path narrows the match only when git asks with a path.
    expect(lookupCredential(STORE, { protocol: "https", host: "scoped.example.com" })?.password).toBe("tok-scoped");
    expect(
      lookupCredential(STORE, { protocol: "https", host: "scoped.example.com", path: "org/other.git" }),
    ).toBeNull();
  });
});

describe("the helper under real git", () => {
  it("git credential fill gets the token of the host from the file", () => {
    const file = path.join(dir, "creds-fill");
    writeFileSync(file, STORE, { mode: 0o600 });
    const out = fill(file, "protocol=https\nhost=github.com");
    expect(out.status).toBe(0);
    expect(out.stdout).toContain("username=x-access-token\npassword=ghp_github0000\n");
    // No line for the host: git fails rather than prompt.
    expect(fill(file, "protocol=https\nhost=elsewhere.example").status).not.toBe(0);
  });

  it("the helper's program works as esbuild bundles it for dist/server.js", async () => {
    const bundled = await importBundled<{ remoteConfigArgs: typeof remoteConfigArgs }>(
      path.join(import.meta.dirname, "..", "..", "src", "remote", "credentials.ts"),
      dir,
    );
    const file = path.join(dir, "creds-bundled");
    writeFileSync(file, STORE, { mode: 0o600 });
    expect(fill(file, "protocol=https\nhost=github.com", "fill", bundled.remoteConfigArgs).stdout).toContain(
      "password=ghp_github0000\n",
    );
  });

  it("approve and reject (git's store/erase after a success or a 401) leave the file as it was", () => {
    const file = path.join(dir, "creds-erase");
    writeFileSync(file, STORE);
    chmodSync(file, 0o400);
    const before = statSync(file).mtimeMs;
    const cred = "protocol=https\nhost=github.com\nusername=x-access-token\npassword=ghp_github0000";
    expect(fill(file, cred, "reject").status).toBe(0);
    expect(fill(file, `${cred.replace("0000", "1111")}`, "approve").status).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(STORE);
    expect(statSync(file).mtimeMs).toBe(before);
  });

  it("the helper's command line names a program and a path, never a token", () => {
    const args = remoteConfigArgs("/etc/vault/git-credentials").join(" ");
    expect(args).toContain("/etc/vault/git-credentials");
    expect(args).not.toContain("ghp_");
    // Without a file, any configured helper is still dropped and nothing is added.
    expect(remoteConfigArgs(undefined)).toContain("credential.helper=");
    expect(remoteConfigArgs(undefined).join(" ")).not.toContain("-e ");
  });
});

describe("credentialsFileProblem (a start-up warning)", () => {
  it("names a missing or unreadable file, and one others may read; none for 0600", () => {
    const file = path.join(dir, "creds-mode");
    expect(credentialsFileProblem(undefined)).toBeNull();
    expect(credentialsFileProblem(file)?.event).toBe("git_credentials_unreadable");
    writeFileSync(file, STORE);
    chmodSync(file, 0o644);
    expect(credentialsFileProblem(file)).toEqual({
      event: "git_credentials_readable_by_others",
      fix: `chmod 600 ${file}`,
    });
    chmodSync(file, 0o600);
    expect(credentialsFileProblem(file)).toBeNull();
  });
});

describe("remote failures and URLs", () => {
  it("classifies git's messages: auth, network, a lease that failed, a refusal", () => {
    expect(classifyRemoteFailure("fatal: Authentication failed for 'https://x/'")).toBe("auth");
    expect(classifyRemoteFailure("fatal: could not read Username for 'https://x': terminal prompts disabled")).toBe(
      "auth",
    );
    expect(classifyRemoteFailure("fatal: unable to access 'https://x/': The requested URL returned error: 403")).toBe(
      "auth",
    );
    expect(classifyRemoteFailure("fatal: unable to access 'https://x/': Could not resolve host: x")).toBe("network");
    expect(classifyRemoteFailure("git fetch: timed out after 1000 ms")).toBe("network");
    expect(classifyRemoteFailure("fatal: unable to access 'https://x/': The requested URL returned error: 502")).toBe(
      "network",
    );
    expect(classifyRemoteFailure(" ! [rejected]        abc -> vault/t (stale info)")).toBe("stale");
    expect(classifyRemoteFailure(" ! [remote rejected] abc -> vault/t (protected branch hook declined)")).toBe(
      "rejected",
    );
    expect(classifyRemoteFailure("fatal: repository 'https://x/' not found")).toBe("other");
  });

  it("redact cuts every secret out", () => {
    expect(redact("a tok b tok", ["tok"])).toBe("a *** b ***");
  });

  it("a source URL is http(s) without credentials, query or fragment", () => {
    const ok = ["https://github.com/o/r.git", "https://ghe.example.com:8443/o/r", "http://127.0.0.1:9000/r.git"];
    const bad = [
      "https://user:tok@github.com/o/r",
      "https://tok@github.com/o/r",
      "file:///var/lib/vault-executor/repos/x",
      "ext::sh -c touch% /tmp/pwned",
      "ssh://git@github.com/o/r.git",
      "git@github.com:o/r.git",
      "https://github.com/o/r?token=x",
      "https://github.com/o/r#x",
      "https://github.com/",
      "https://github.com/o/r\n.git",
      "-uhttps://github.com/o/r",
    ];
    for (const u of ok) expect(RemoteUrl.safeParse(u).success, u).toBe(true);
    for (const u of bad) expect(RemoteUrl.safeParse(u).success, u).toBe(false);
    const msg = RemoteUrl.safeParse("https://u:secret-token@github.com/o/r").error?.issues[0]?.message ?? "";
    expect(msg).not.toContain("secret-token");
  });
});
