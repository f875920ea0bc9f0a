/**
 * Agent identities and executors for the sandbox tests. They need root (to create users and switch
 * to them, as the shipped unit does with its capabilities); CI and this project's machines run as
 * root. Each test file makes its own identities with a random prefix and deletes them after.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, linkSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config.ts";
import { ensureIdentities, identityNames, removeIdentities } from "../../src/sandbox/provision.ts";
import { exited, type Harness, harness, post, spawnExecutor } from "../server/harness.ts";

export const IS_ROOT = process.geteuid?.() === 0;
export const ESCAPE_CLI = path.join(import.meta.dirname, "..", "fixtures", "escape-cli.mjs");
const EXECUTOR = path.join(import.meta.dirname, "..", "..");

/** Copies `rel` (relative to executor/) under `root`, keeping the layout, readable (and executable) by all. */
function copyOut(root: string, rel: string, mode: number): string {
  const dest = path.join(root, rel);
  mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
  copyFileSync(path.join(EXECUTOR, rel), dest);
  chmodSync(dest, mode);
  return dest;
}

/**
 * The escape CLI and what it loads, copied into the harness's own directory: the agent identities
 * run it, and the checkout may sit under a folder they cannot enter (root's home, a 0700 temp dir).
 */
export function escapeCliIn(dir: string): string {
  const root = path.join(dir, "agent-fixtures");
  copyOut(root, "src/sandbox/probe.ts", 0o644);
  copyOut(root, "test/server/fixtures/claude-json-success.json", 0o644);
  const cli = copyOut(root, "test/fixtures/escape-cli.mjs", 0o755);
  copyOut(root, "package.json", 0o644); // "type": "module", as in the checkout
  spawnSync("chmod", ["-R", "a+rX", root]);
  return cli;
}

/**
 * The executor as install.sh lays it out, under `dir`: the esbuild bundle (dist/server.js), its
 * config/, and a node beside it (a hard link, else a copy), so a service user can run it wherever
 * the checkout is.
 */
export function installedExecutor(dir: string): { node: string; main: string } {
  const root = path.join(dir, "installed");
  const main = path.join(root, "dist", "server.js");
  const esbuild = path.join(EXECUTOR, "..", "node_modules", ".bin", "esbuild");
  const r = spawnSync(
    esbuild,
    [
      path.join(EXECUTOR, "src", "main.ts"),
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--target=node22",
      `--outfile=${main}`,
      "--banner:js=import{createRequire}from'node:module';const require=createRequire(import.meta.url);",
      "--log-level=error",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`esbuild failed: ${r.stderr}`);
  copyOut(root, "config/profiles.json", 0o644);
  copyOut(root, "config/prices.json", 0o644);
  const node = path.join(root, "bin", "node");
  mkdirSync(path.dirname(node), { recursive: true });
  try {
    linkSync(process.execPath, node);
  } catch {
    copyFileSync(process.execPath, node); // another filesystem
  }
  chmodSync(node, 0o755);
  spawnSync("chmod", ["-R", "a+rX", root]);
  return { node, main };
}

export interface TestIdentities {
  prefix: string;
  names: string[];
  remove(): void;
}

export function makeIdentities(count = 2, opts: { memberOf?: string } = {}): TestIdentities {
  const prefix = `vt${randomBytes(3).toString("hex")}-`;
  const names = identityNames(prefix, count);
  ensureIdentities(names, opts);
  return { prefix, names, remove: () => removeIdentities(names) };
}

/** The server harness laid out for the sandbox: its temp dir searchable, the repos private. */
export function sandboxHarness(prefix: string, extra: Record<string, string> = {}): Harness {
  const h = harness({
    AGENT_SANDBOX: "on",
    AGENT_USER_PREFIX: prefix,
    MAX_EXECUTORS: "2",
    ...extra,
  });
  chmodSync(h.dir, 0o711);
  chmodSync(path.join(h.dir, "repos"), 0o700);
  if (extra.CLAUDE_BIN === undefined) {
    h.env.CLAUDE_BIN = escapeCliIn(h.dir);
    h.config = loadConfig(h.env);
  }
  return h;
}

export function idOf(name: string): { uid: number; gid: number } {
  const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** The worktree directories of a harness (WORKTREES_DIR/demo/<uuid>). */
export function trees(h: Harness): string[] {
  const base = path.join(h.dir, "worktrees", "demo");
  try {
    return readdirSync(base, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(base, e.name));
  } catch {
    return [];
  }
}

/** Runs every cleanup even when one fails (identities must not outlive a failed test), then throws the first error. */
export async function cleanupAll(...steps: (() => unknown)[]): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/** The executor as a real process (its pid is the one whose environ the agents try), and how to stop it. */
export async function runningExecutor(
  h: Harness,
  extra: Record<string, string> = {},
  wrap: readonly string[] = [],
  entry?: { node: string; main: string },
): Promise<{ url: string; pid: number; output: () => string; stop: () => Promise<unknown> }> {
  const ex = await spawnExecutor(h, extra, wrap, entry);
  return {
    url: ex.url,
    pid: ex.child.pid as number,
    output: ex.output,
    stop: () => {
      ex.child.kill("SIGTERM");
      return exited(ex.child);
    },
  };
}

/**
 * One job of `cli` on the mock's `tool` scenario (`id -u > hello.txt` through the CLI's real shell
 * tool): it must succeed with hello.txt committed, written by one of the agent identities.
 */
export async function expectToolJobAsIdentity(
  url: string,
  h: Harness,
  ids: TestIdentities,
  cli: "claude" | "codex" | "gemini",
  jobKey: string,
): Promise<void> {
  const res = await post(`${url}/execute`, { jobKey, executor: cli, prompt: "Create hello.txt", repo: "demo" });
  const view = (await res.json()) as {
    status: string;
    result: { run: { cli: string; error?: unknown }; files: { path: string }[]; commit: string };
  };
  if (view.status !== "succeeded")
    throw new Error(`${cli} job ${view.status}: ${JSON.stringify(view.result?.run.error ?? view)}`);
  if (view.result.run.cli !== cli) throw new Error(`ran ${view.result.run.cli}, not ${cli}`);
  const files = view.result.files.map((f) => f.path);
  if (files.join() !== "hello.txt") throw new Error(`changed ${files.join(", ")}, not hello.txt`);
  const written = execFileSync(
    "git",
    ["-C", path.join(h.dir, "repos", "demo"), "show", `${view.result.commit}:hello.txt`],
    { encoding: "utf8" },
  ).trim();
  const uids = ids.names.map((n) => String(idOf(n).uid));
  if (!uids.includes(written))
    throw new Error(`hello.txt written by uid ${written}, not an identity (${uids.join(", ")})`);
}
