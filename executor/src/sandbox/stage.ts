/**
 * What the agent identities execute must be reachable for them wherever the executor's files are. A
 * checkout under a folder other users cannot enter (root's home, a `mktemp -d`) holds the pinned
 * CLIs and the repo's node: exec through setpriv may still start a native binary (setpriv holds its
 * capabilities until the exec), but a script (gemini's `gemini.js`) is opened by node as the
 * identity, and fails with "Cannot find module".
 *
 * So at start the sandbox maps each configured CLI, and the node the executor runs on, to a path the
 * identities can reach: its real path when every directory on the way is searchable by others (a
 * symlinked `node_modules` often is), else a staged copy under DATA_DIR/agent-tools (0755; only
 * public packages live there): the CLI's whole outermost `node_modules` tree (its modules resolve
 * from there), or the file alone (node, a CLI outside any node_modules), hard-linked (a copy across filesystems or for a file others may
 * not read). A staged tree is reused while its source is unchanged.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import {
  chmod,
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { log } from "../log.ts";
import { SandboxSetupError } from "./identities.ts";

export interface AgentPrograms {
  /** The path an identity executes for a program the executor resolved (unchanged when not mapped). */
  program(resolved: string): Promise<string>;
  /** The PATH an agent process gets: a directory with the executor's node (reachable) first. */
  path(envPath: string): string;
  /** The node binary the identities can execute. */
  node: string;
  /** Source → staged copy, for the log. */
  staged: Record<string, string>;
}

/** The first directory from the root down to `dir` (included) that other users cannot pass (no o+x); null when none. */
export async function closedDir(dir: string): Promise<string | null> {
  const abs = path.resolve(dir);
  let cur = path.parse(abs).root;
  for (const part of path.relative(cur, abs).split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    const st = await stat(cur).catch(() => null);
    if (st === null) return null; // not there yet: whoever creates it sets its mode
    if ((st.mode & 0o001) === 0) return cur;
  }
  return null;
}

/** The first path component other users cannot pass (a closed directory, or the file without o+rx); null when none. */
export async function blockerForOthers(file: string): Promise<string | null> {
  const abs = path.resolve(file);
  const closed = await closedDir(path.dirname(abs));
  if (closed !== null) return closed;
  return ((await stat(abs)).mode & 0o005) === 0o005 ? null : abs;
}

/** The outermost `node_modules` directory above `file`, where a package's modules resolve from; null if none. */
export function packageRoot(file: string): string | null {
  const parts = path.resolve(file).split(path.sep);
  const at = parts.indexOf("node_modules");
  return at > 0 ? parts.slice(0, at + 1).join(path.sep) : null;
}

const MARKER = ".vault-staged.json";

/** A cheap fingerprint of a tree: every entry's path, size and mtime. */
async function fingerprint(src: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      const st = await lstat(p);
      h.update(`${path.relative(src, p)}\0${st.size}\0${st.mtimeMs}\0${st.mode}\n`);
      if (e.isDirectory()) await walk(p);
    }
  };
  const st = await stat(src);
  if (st.isDirectory()) await walk(src);
  else h.update(`${st.size}\0${st.mtimeMs}\0${st.mode}`);
  return h.digest("hex");
}

/** One file into the staging tree: a hard link when others may read it, else (or across filesystems) a copy they may. */
async function placeFile(src: string, dest: string, st: Stats): Promise<void> {
  const readable = (st.mode & 0o004) !== 0;
  if (readable) {
    try {
      await link(src, dest);
      return;
    } catch {
      // EXDEV (another filesystem) or EPERM (protected hard links): a copy below does the same job
    }
  }
  await copyFile(src, dest);
  await chmod(dest, (st.mode & 0o777) | 0o444 | ((st.mode & 0o100) !== 0 ? 0o111 : 0));
}

async function copyTree(src: string, dest: string): Promise<void> {
  const st = await lstat(src);
  if (st.isSymbolicLink()) {
    const target = await readlink(src);
    await symlink(target, dest);
  } else if (st.isDirectory()) {
    await mkdir(dest, { mode: 0o755 });
    await chmod(dest, 0o755);
    for (const name of await readdir(src)) await copyTree(path.join(src, name), path.join(dest, name));
  } else if (st.isFile()) {
    await placeFile(src, dest, st);
  }
}

/** `src` (a tree or a file) as a reachable copy under `stageDir`; reused while unchanged. Returns the copy's path. */
async function stage(src: string, stageDir: string): Promise<string> {
  const id = createHash("sha256").update(src).digest("hex").slice(0, 16);
  const home = path.join(stageDir, id);
  const dest = path.join(home, path.basename(src));
  const print = await fingerprint(src);
  const marker = path.join(home, MARKER);
  const kept = await readFile(marker, "utf8").catch(() => "");
  if (kept === JSON.stringify({ src, print })) return dest;
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true, mode: 0o755 });
  await chmod(home, 0o755);
  await copyTree(src, dest);
  await writeFile(marker, JSON.stringify({ src, print }), { mode: 0o644 });
  return dest;
}

/**
 * Maps `bins` (CLI name → the path the executor resolved) and `node` to paths the identities can
 * reach, staging what they cannot (see the file comment). Throws SandboxSetupError with what to
 * change when something can be neither reached nor staged.
 */
export async function agentPrograms(o: {
  stageDir: string;
  bins: Readonly<Record<string, string>>;
  node: string;
}): Promise<AgentPrograms> {
  await mkdir(o.stageDir, { recursive: true, mode: 0o755 });
  await chmod(o.stageDir, 0o755);
  // A stage dir the identities cannot reach either (DATA_DIR closed) is left for the self-check to
  // report: it names the directory and the mode to set.
  const staged: Record<string, string> = {};
  const mapped = new Map<string, string>();

  /** A CLI brings its package tree (its modules resolve from it); node is one self-contained file. */
  const reachable = async (resolved: string, what: string, unitOf: "package" | "file"): Promise<string> => {
    const real = await realpath(resolved);
    const known = mapped.get(real);
    if (known) return known;
    const blocker = await blockerForOthers(real);
    let out = real;
    if (blocker !== null) {
      const unit = (unitOf === "package" ? packageRoot(real) : null) ?? real;
      try {
        const copy = await stage(unit, o.stageDir);
        out = path.join(copy, path.relative(unit, real));
        staged[unit] = copy;
        log("info", "agent_program_staged", {
          what,
          from: unit,
          to: copy,
          because: `${blocker} is closed to other users`,
        });
      } catch (err) {
        throw new SandboxSetupError(
          `agent sandbox: the agent identities cannot reach ${real} (${blocker} is closed to other users) and staging it under ${o.stageDir} failed (${err instanceof Error ? err.message : String(err)}): put it under a directory others can search, or chmod o+x ${blocker}`,
        );
      }
    }
    mapped.set(real, out);
    return out;
  };

  for (const [name, bin] of Object.entries(o.bins)) await reachable(bin, name, "package");
  const node = await reachable(o.node, "node", "file");
  // Agents run scripts (`#!/usr/bin/env node`) on the executor's own node, found first on their
  // PATH through a directory holding nothing else: the PATH's own entries may be closed to them
  // (the checkout's node_modules/.bin) and the next node on it another version.
  const nodeDir = path.join(o.stageDir, "node-bin");
  await mkdir(nodeDir, { recursive: true, mode: 0o755 });
  await chmod(nodeDir, 0o755);
  await rm(path.join(nodeDir, "node"), { force: true });
  await symlink(node, path.join(nodeDir, "node"));
  return {
    node,
    staged,
    async program(resolved) {
      const real = await realpath(resolved).catch(() => resolved);
      return mapped.get(real) ?? resolved;
    },
    path(envPath) {
      return [nodeDir, ...envPath.split(path.delimiter).filter((p) => p !== nodeDir)].join(path.delimiter);
    },
  };
}
