/**
 * Agent identities and executors for the sandbox tests. They need root (to create users and switch
 * to them, as the shipped unit does with its capabilities); CI and this project's machines run as
 * root. Each test file makes its own identities with a random prefix and deletes them after.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, readdirSync } from "node:fs";
import path from "node:path";
import { ensureIdentities, identityNames, removeIdentities } from "../../src/sandbox/provision.ts";
import { exited, type Harness, harness, spawnExecutor } from "../server/harness.ts";

export const IS_ROOT = process.geteuid?.() === 0;
export const ESCAPE_CLI = path.join(import.meta.dirname, "..", "fixtures", "escape-cli.mjs");

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
    CLAUDE_BIN: ESCAPE_CLI,
    ...extra,
  });
  chmodSync(h.dir, 0o711);
  chmodSync(path.join(h.dir, "repos"), 0o700);
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
): Promise<{ url: string; pid: number; output: () => string; stop: () => Promise<unknown> }> {
  const ex = await spawnExecutor(h, extra, wrap);
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
