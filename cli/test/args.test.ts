/** Command lookup, flag parsing and checks, and where the URL and token come from. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { integer, parseFlags, positive, profile, since, statuses, taskId, UsageError } from "../src/args.ts";
import { CliError, resolveTarget } from "../src/http.ts";
import { resolve } from "../src/main.ts";

describe("resolve: which command, and what is left for it", () => {
  it("finds one- and two-word commands with global flags before or after", () => {
    expect(resolve(["tasks", "list", "--json"])).toMatchObject({
      command: { name: "tasks list" },
      rest: ["--json"],
      help: false,
    });
    expect(resolve(["--url", "http://x:1", "tasks", "show", "t-1"])).toMatchObject({
      command: { name: "tasks show" },
      rest: ["--url", "http://x:1", "t-1"],
    });
    expect(resolve(["replay", "--failed", "--token", "tok", "--since", "24h"])).toMatchObject({
      command: { name: "replay" },
      rest: ["--failed", "--token", "tok", "--since", "24h"],
    });
  });

  it("a value that looks like a command name stays the flag's value", () => {
    // `--url` takes a value: 'health' here is the URL, and the command is `tasks list`.
    expect(resolve(["--url", "health", "tasks", "list"])).toMatchObject({
      command: { name: "tasks list" },
      rest: ["--url", "health"],
    });
  });

  it("sees --help / -h / `help <command>` before `--` only", () => {
    expect(resolve(["replay", "-h"])).toMatchObject({ command: { name: "replay" }, help: true });
    expect(resolve(["help", "tasks", "show"])).toMatchObject({ command: { name: "tasks show" }, help: true });
    expect(resolve(["--help"])).toMatchObject({ help: true });
    expect(resolve(["tasks"])).toMatchObject({ group: "tasks", help: false });
    expect(resolve(["tasks", "show", "--", "--help"])).toMatchObject({ command: { name: "tasks show" }, help: false });
  });

  it("unknown commands are usage errors", () => {
    expect(() => resolve(["frobnicate"])).toThrow(UsageError);
    expect(() => resolve(["tasks", "delete"])).toThrow(
      /unknown command 'vault tasks delete'; one of: tasks list, tasks show/,
    );
  });
});

describe("parseFlags and the value checks", () => {
  it("parses a command's flags plus the global ones; unknown flags and missing values are usage errors", () => {
    const { values, positionals } = parseFlags(["t-1", "--json", "--url", "http://h:1"], { json: { type: "boolean" } });
    expect(values).toMatchObject({ json: true, url: "http://h:1" });
    expect(positionals).toEqual(["t-1"]);
    expect(() => parseFlags(["--nope"], {})).toThrow(new UsageError("Unknown option '--nope'"));
    expect(() => parseFlags(["--since"], { since: { type: "string" } })).toThrow(UsageError);
  });

  it("checks task ids, windows, statuses, profiles and numbers", () => {
    expect(taskId("t-20261124-1530-ab12cd")).toBe("t-20261124-1530-ab12cd");
    expect(() => taskId("abc")).toThrow(/'abc' is not a task id/);
    expect(() => taskId(undefined)).toThrow(/give a task id/);
    expect(since("24h")).toBe("24h");
    expect(since(undefined)).toBeUndefined();
    expect(() => since("yesterday")).toThrow(/90m, 24h or 7d/);
    expect(statuses(["failed,halted", "needs_human"])).toEqual(["failed", "halted", "needs_human"]);
    expect(() => statuses(["failed,broken"])).toThrow(/unknown status 'broken'/);
    expect(profile("--from-tier", "sonnet")).toBe("sonnet");
    expect(() => profile("--from-tier", "gpt")).toThrow(/--from-tier takes a profile: deepseek, /);
    expect(integer("--limit", "20", 1, 100)).toBe(20);
    for (const bad of ["0", "101", "2.5", "-1", "ten"])
      expect(() => integer("--limit", bad, 1, 100)).toThrow(UsageError);
    expect(positive("--cap", "$10", 1000)).toBe(10);
    expect(positive("--interval", "0.2")).toBe(0.2);
    for (const bad of ["0", "-3", "x", "1001"]) expect(() => positive("--cap", bad, 1000)).toThrow(UsageError);
  });
});

describe("resolveTarget: flags, then the environment, then the local stack", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-cli-args-"));
  const nested = path.join(dir, "a", "b");
  mkdirSync(nested, { recursive: true });
  writeFileSync(path.join(dir, ".dev.vars"), 'EXECUTOR_SECRET=x\nVAULT_AUTH_TOKEN="dev-token"\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prefers --url/--token, then VAULT_URL/VAULT_AUTH_TOKEN", () => {
    const env = { VAULT_URL: "http://127.0.0.1:1/", VAULT_AUTH_TOKEN: "env-token" };
    expect(resolveTarget({ url: "https://w.example.dev/", token: "flag-token" }, env, dir)).toEqual({
      url: "https://w.example.dev",
      urlSource: "--url",
      token: "flag-token",
      tokenSource: "--token",
    });
    expect(resolveTarget({}, env, dir)).toEqual({
      url: "http://127.0.0.1:1",
      urlSource: "VAULT_URL",
      token: "env-token",
      tokenSource: "VAULT_AUTH_TOKEN",
    });
  });

  it("defaults to the local stack and the nearest .dev.vars above the working directory", () => {
    expect(resolveTarget({}, {}, nested)).toEqual({
      url: "http://127.0.0.1:28787",
      urlSource: "default",
      token: "dev-token",
      tokenSource: path.join(dir, ".dev.vars"),
    });
  });

  it("finds a local stack started on another port through VAULT_WORKER_PORT (VAULT_URL still wins)", () => {
    expect(resolveTarget({}, { VAULT_WORKER_PORT: "29999" }, nested)).toMatchObject({
      url: "http://127.0.0.1:29999",
      urlSource: "VAULT_WORKER_PORT",
      token: "dev-token",
    });
    expect(resolveTarget({}, { VAULT_WORKER_PORT: "29999", VAULT_URL: "http://127.0.0.1:1" }, nested)).toMatchObject({
      url: "http://127.0.0.1:1",
      urlSource: "VAULT_URL",
    });
    for (const bad of ["0", "70000", "x", "80; rm"])
      expect(() => resolveTarget({}, { VAULT_WORKER_PORT: bad }, nested)).toThrow(
        expect.objectContaining({ exitCode: 2, message: expect.stringContaining("VAULT_WORKER_PORT") }),
      );
  });

  it("never sends the local dev token to a remote Worker", () => {
    expect(() => resolveTarget({ url: "https://vault.example.workers.dev" }, {}, nested)).toThrow(
      new CliError("no token for https://vault.example.workers.dev: set VAULT_AUTH_TOKEN (or pass --token)"),
    );
  });

  it("a URL that is not http(s) is bad usage", () => {
    expect(() => resolveTarget({ url: "not a url" }, {}, dir)).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => resolveTarget({ url: "ftp://h" }, {}, dir)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});
