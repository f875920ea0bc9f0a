/**
 * The identities agent CLIs run as: one system user per concurrency slot (`vault-agent-0` …
 * `vault-agent-{MAX_EXECUTORS-1}`), each alone in its own primary group. At most one CLI runs as a
 * given identity at a time, so whatever one run leaves (files, a daemon) is never seen by a run of
 * another slot, and a slot's leftovers are killed and cleaned before its next run.
 *
 * Why users and not namespaces: switching uid works wherever the executor may switch (root in a
 * container, or the unit's CAP_SETUID/CAP_SETGID under systemd), while user namespaces are refused
 * by Docker's default seccomp profile and, under systemd, would have to be allowed for every process
 * of the unit (the usual entry point of kernel privilege escalations). A distinct uid also gives the
 * kernel's own checks for free: /proc/<pid>/environ of another uid, signals, file modes, and
 * nftables/`IPAddressDeny` rules that match the socket's owner.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface AgentIdentity {
  name: string;
  uid: number;
  gid: number;
}

/** The sandbox cannot do what it promises: a configuration problem (exit 2), never a silent fallback. */
export class SandboxSetupError extends Error {
  override readonly name = "SandboxSetupError";
}

const OFF_HINT = "or set AGENT_SANDBOX=off to run agents as the executor's own user (see executor/README.md)";

export function identityNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** uid and primary gid from the passwd database (getent, so NSS users work too). */
export function resolveIdentity(name: string): AgentIdentity | null {
  const r = spawnSync("getent", ["passwd", name], { encoding: "utf8", timeout: 5_000 });
  const fields = r.status === 0 ? r.stdout.trim().split(":") : [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) && fields.length >= 4 ? { name, uid, gid } : null;
}

/** CAP_KILL, CAP_SETGID, CAP_SETUID: the bits capabilities(7) gives them. */
const NEEDED_CAPS = { CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7 } as const;

/**
 * Root can switch identity; another user needs CAP_SETUID and CAP_SETGID (to start the CLI as the
 * identity) and CAP_KILL (to stop it), which the unit grants as ambient capabilities.
 */
function missingCapabilities(status: string = readFileSync("/proc/self/status", "utf8")): string[] {
  if (process.geteuid?.() === 0) return [];
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0";
  const eff = BigInt(`0x${hex}`);
  return Object.entries(NEEDED_CAPS)
    .filter(([, bit]) => (eff & (1n << BigInt(bit))) === 0n)
    .map(([name]) => name);
}

/**
 * Resolves and checks the slot identities: each must exist, be neither root nor the executor's own
 * user or group, and not share a uid or gid with another slot (two slots as one user could read each
 * other's worktrees).
 */
export function resolveIdentities(names: readonly string[]): AgentIdentity[] {
  const missingCaps = missingCapabilities();
  if (missingCaps.length > 0)
    throw new SandboxSetupError(
      `agent sandbox: the executor cannot switch to the agent identities (it is not root and lacks ${missingCaps.join(", ")}); run it under the shipped unit (AmbientCapabilities) or as root, ${OFF_HINT}`,
    );
  const out: AgentIdentity[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const id = resolveIdentity(name);
    if (id) out.push(id);
    else missing.push(name);
  }
  if (missing.length > 0)
    throw new SandboxSetupError(
      `agent sandbox: no such user ${missing.join(", ")} (one per MAX_EXECUTORS slot, AGENT_USER_PREFIX + 0, 1, …); create them with executor/deploy/install.sh, ${OFF_HINT}`,
    );
  const ownUid = process.getuid?.() ?? -1;
  const ownGid = process.getgid?.() ?? -1;
  for (const id of out) {
    if (id.uid === 0 || id.gid === 0 || id.uid === ownUid || id.gid === ownGid)
      throw new SandboxSetupError(
        `agent sandbox: ${id.name} (uid ${id.uid}, gid ${id.gid}) is root or the executor's own user or group; agents need their own unprivileged users`,
      );
  }
  const uids = new Set(out.map((i) => i.uid));
  const gids = new Set(out.map((i) => i.gid));
  if (uids.size !== out.length || gids.size !== out.length)
    throw new SandboxSetupError(
      `agent sandbox: ${names.join(", ")} must each have their own uid and primary group (one per slot)`,
    );
  return out;
}
