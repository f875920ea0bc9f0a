/**
 * The sandbox's start-up self-check: before the executor takes a job, an agent identity tries, for
 * real (probe.ts), what a prompt-injected agent would: read the executor's environment, open the job
 * store and the repos' git config, create files in the state and repo directories, and reach the
 * metadata address. It must also be able to work in a home and a worktree laid out like a run's.
 * A file hole refuses the start (the operator fixes a mode); an open metadata route is a warning
 * (the network part depends on the unit or on nftables) and shows in /health.
 */
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { chmod, chown, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { isMissing } from "../fs-missing.ts";
import { STORE_FILE } from "../jobs/store.ts";
import type { AgentIdentity } from "./identities.ts";
import { SandboxSetupError } from "./identities.ts";
import { type ProbeResult, type ProbeSpec, probeProgram } from "./probe.ts";
import { type RunAsTools, runAs } from "./run-as.ts";

export interface SelfCheckTargets {
  dataDir: string;
  reposDir: string;
  worktreesDir: string;
  homesDir: string;
  /** Repo names jobs may use; empty = every directory in reposDir. */
  allowlist: readonly string[];
  /** Files only the executor may read (e.g. its env file). */
  privateFiles: readonly string[];
  /** The CLIs the identity must be able to execute (resolved paths). */
  clis: Readonly<Record<string, string>>;
}

export type MetadataRoute = "blocked" | "not blocked";

export interface SelfCheckReport {
  metadata: MetadataRoute;
  /** CLI name → whether the identity may execute it. */
  clis: Record<string, boolean>;
}

/** connect() errors that mean a local rule refused the route (IPAddressDeny, nftables, prohibit). */
const BLOCKED = new Set(["EPERM", "EACCES", "EHOSTUNREACH", "ENETUNREACH"]);
const METADATA_ADDRESS = { host: "169.254.169.254", port: 80 };

async function workDir(root: string, id: AgentIdentity): Promise<string> {
  await mkdir(root, { recursive: true });
  const dir = path.join(root, `.sandbox-check-${randomUUID()}`);
  await mkdir(dir, { mode: 0o700 });
  await chown(dir, -1, id.gid);
  await chmod(dir, 0o770);
  return dir;
}

function repoConfigs(t: SelfCheckTargets): string[] {
  let names = [...t.allowlist];
  if (names.length === 0) {
    try {
      names = readdirSync(t.reposDir);
    } catch (err) {
      if (!isMissing(err)) throw err;
      names = []; // no repos yet: nothing to protect there
    }
  }
  return names.slice(0, 50).map((n) => path.join(t.reposDir, n, ".git", "config"));
}

export async function selfCheck(
  tools: RunAsTools,
  id: AgentIdentity,
  t: SelfCheckTargets,
  node = process.execPath,
): Promise<SelfCheckReport> {
  const home = await workDir(t.homesDir, id);
  const tree = await workDir(t.worktreesDir, id);
  try {
    const store = path.join(t.dataDir, STORE_FILE);
    const configs = repoConfigs(t);
    const spec: ProbeSpec = {
      environ: [process.pid],
      read: [store, ...configs, ...t.privateFiles],
      append: [store, ...configs],
      create: [t.dataDir, t.reposDir, home, tree],
      execute: Object.values(t.clis),
      connect: [METADATA_ADDRESS],
      timeoutMs: 500,
    };
    const out = await runAs(tools, id, {
      argv: [node, "-e", probeProgram(), JSON.stringify(spec)],
      cwd: home,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8" },
      timeoutMs: 20_000,
      killGraceMs: 1_000,
    });
    let results: ProbeResult[];
    try {
      results = JSON.parse(out.stdout) as ProbeResult[];
    } catch {
      throw new SandboxSetupError(
        `agent sandbox: the self-check could not run as ${id.name} (${out.spawnError ?? `exit ${out.exitCode}`}: ${out.stderr.trim().slice(0, 300)}); ${id.name} must be able to execute ${node}`,
      );
    }
    const ok = (attempt: string) => results.find((r) => r.attempt === attempt)?.ok === true;
    for (const [dir, what] of [
      [home, "its per-run home"],
      [tree, "its worktree"],
    ] as const) {
      if (!ok(`create in ${dir}`))
        throw new SandboxSetupError(
          `agent sandbox: ${id.name} cannot work in ${what} under ${path.dirname(dir)}: every directory above it must be searchable by other users (chmod o+x), e.g. ${t.dataDir} 0711`,
        );
    }
    const holes = results.filter(
      (r) =>
        r.ok &&
        !r.attempt.startsWith("execute ") &&
        !r.attempt.startsWith("connect ") &&
        !r.attempt.includes(home) &&
        !r.attempt.includes(tree),
    );
    if (holes.length > 0)
      throw new SandboxSetupError(
        `agent sandbox: ${id.name} can ${holes.map((h) => h.attempt).join("; ")}. Make them private to the executor's user (chmod 0700 ${t.reposDir}, 0600 for files)`,
      );
    const metadata = results.find((r) => r.attempt.startsWith("connect "));
    return {
      metadata: metadata && !metadata.ok && BLOCKED.has(metadata.detail) ? "blocked" : "not blocked",
      clis: Object.fromEntries(Object.entries(t.clis).map(([name, bin]) => [name, ok(`execute ${bin}`)])),
    };
  } finally {
    await Promise.all([rm(home, { recursive: true, force: true }), rm(tree, { recursive: true, force: true })]);
  }
}
