/**
 * The agent sandbox (AGENT_SANDBOX, on by default): every CLI run, and the verify command after it,
 * runs as a slot identity (identities.ts) that can write only its worktree and its per-run home.
 *
 *   lease (one identity per CLI run; the queue never runs more CLIs than there are identities)
 *   → worktree + home handed to the identity's group → CLI and verify as the identity (run-as.ts)
 *   → reap: kill whatever the identity still runs → collect → clean up → release
 *
 * Layout (made at start, checked by self-check.ts): DATA_DIR, its homes/ and WORKTREES_DIR 0711
 * (searchable, not listable), the job store 0600, REPOS_DIR private to the executor. The executor's
 * umask becomes 0007 so what it and its git write in a slot's tree is group-writable and never
 * world-readable; files outside the slots keep the executor's own group, which no agent is in.
 */
import { accessSync, chmodSync, constants, mkdirSync, statSync } from "node:fs";
import { chmod, stat } from "node:fs/promises";
import path from "node:path";
import { cliBins, type ExecutorConfig } from "../config.ts";
import { listDir, listEntries } from "../fs-missing.ts";
import { which } from "../health.ts";
import type { ProcessOutcome, RunProcessOptions, WorktreeSlot } from "../interfaces.ts";
import { log } from "../log.ts";
import { applyFirewall, removeFirewall, tableName } from "./firewall.ts";
import { type HomeOwner, removeHome } from "./homes.ts";
import { type AgentIdentity, identityNames, resolveIdentities, SandboxSetupError } from "./identities.ts";
import { fixPermissions, killAllOf, type RunAsTools, type RunProcess, reap, runAs } from "./run-as.ts";
import { type MetadataRoute, selfCheck } from "./self-check.ts";
import { agentPrograms } from "./stage.ts";

export type SandboxConfig = Pick<
  ExecutorConfig,
  | "AGENT_SANDBOX"
  | "AGENT_USER_PREFIX"
  | "AGENT_BLOCK_PORTS"
  | "MAX_EXECUTORS"
  | "DATA_DIR"
  | "REPOS_DIR"
  | "WORKTREES_DIR"
  | "REPO_ALLOWLIST"
  | "GIT_CREDENTIALS"
  | "CLAUDE_BIN"
  | "CODEX_BIN"
  | "GEMINI_BIN"
>;

/** What /health shows (names and states only). */
export type SandboxStatus =
  | { mode: "off"; reason: string }
  | {
      mode: "on";
      identities: string[];
      /** Agents' route to 169.254.169.254, as the self-check found it. */
      metadata: MetadataRoute | "unchecked";
      /** How agents are kept from the executor's port: the token they cannot read, plus nftables as root. */
      executorPort: "token" | "token+firewall";
      /** CLI → whether the identities may execute it (false: every run of it fails to start). */
      clis: Record<string, boolean>;
    };

/** One identity for one CLI run (and its verify), until the run's cleanup is done. */
export class AgentLease implements HomeOwner, WorktreeSlot {
  readonly identity: AgentIdentity;
  readonly key: string;
  readonly gid: number;
  readonly #tools: RunAsTools;
  readonly #release: () => void;
  #released = false;

  constructor(identity: AgentIdentity, tools: RunAsTools, release: () => void) {
    this.identity = identity;
    this.key = identity.name;
    this.gid = identity.gid;
    this.#tools = tools;
    this.#release = release;
  }

  run(opts: RunProcessOptions): Promise<ProcessOutcome> {
    return runAs(this.#tools, this.identity, opts);
  }

  reap(): Promise<void> {
    return reap(this.#tools, this.identity);
  }

  fixPermissions(dir: string): Promise<void> {
    return fixPermissions(this.#tools, this.identity, dir);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#release();
  }
}

const SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** A system tool by absolute path: the executor's PATH (which a dev may prepend to) is not trusted here. */
function systemTool(name: string): string | null {
  for (const dir of SYSTEM_DIRS) {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {
      // next directory
    }
  }
  return null;
}

function tool(name: string, pkg: string): string {
  const found = systemTool(name);
  if (!found) throw new SandboxSetupError(`agent sandbox: ${name} is missing (Debian package ${pkg})`);
  return found;
}

/** chmod what the executor owns; what it does not own is left for the self-check to judge. */
function ensureMode(dir: string, mode: number): void {
  mkdirSync(dir, { recursive: true });
  const st = statSync(dir);
  if (st.uid === process.geteuid?.() && (st.mode & 0o7777) !== mode) chmodSync(dir, mode);
}

export class AgentSandbox {
  readonly identities: readonly AgentIdentity[];
  readonly homesDir: string;
  readonly #config: SandboxConfig;
  readonly #tools: RunAsTools;
  readonly #free: AgentIdentity[];
  readonly #waiting: ((id: AgentIdentity) => void)[] = [];
  readonly #nft: string | null;
  #firewall = false;
  #metadata: MetadataRoute | "unchecked" = "unchecked";
  #clis: Record<string, boolean> = {};

  private constructor(config: SandboxConfig, identities: AgentIdentity[], tools: RunAsTools, nft: string | null) {
    this.#config = config;
    this.identities = identities;
    this.#free = [...identities];
    this.#tools = tools;
    this.#nft = nft;
    this.homesDir = path.join(config.DATA_DIR, "homes");
  }

  /** Checks the identities and tools, and lays out the directories. Throws SandboxSetupError. */
  static create(config: SandboxConfig, runProcess: RunProcess): AgentSandbox {
    const identities = resolveIdentities(identityNames(config.AGENT_USER_PREFIX, config.MAX_EXECUTORS));
    const tools: RunAsTools = {
      setpriv: tool("setpriv", "util-linux"),
      kill: tool("kill", "procps"),
      chmod: tool("chmod", "coreutils"),
      runProcess,
    };
    // Only root can change the firewall; under systemd the unit's IPAddressDeny does this part.
    const nft = process.geteuid?.() === 0 ? systemTool("nft") : null;
    process.umask(0o007);
    ensureMode(config.DATA_DIR, 0o711);
    ensureMode(path.join(config.DATA_DIR, "homes"), 0o711);
    ensureMode(config.WORKTREES_DIR, 0o711);
    return new AgentSandbox(config, identities, tools, nft);
  }

  /**
   * Before the first job: the firewall as root (without the port, which is not bound yet) and the
   * self-check. A file the identities can reach throws SandboxSetupError.
   */
  async start(env: Readonly<Record<string, string | undefined>>): Promise<void> {
    await this.#applyFirewall(null);
    try {
      await this.#check(env);
    } catch (err) {
      // The executor exits on this: no rules for these uids are left behind.
      await this.stop();
      throw err;
    }
  }

  async #check(env: Readonly<Record<string, string | undefined>>): Promise<void> {
    await this.#closeLeftovers();
    const bins: Record<string, string> = {};
    for (const [name, bin] of Object.entries(cliBins(this.#config))) {
      const found = await which(bin);
      if (found) bins[name] = found;
    }
    // Before the probe: it runs node as the identity, and checks the CLIs where the identities find them.
    const programs = await agentPrograms({
      stageDir: path.join(this.#config.DATA_DIR, "agent-tools"),
      bins,
      node: process.execPath,
    });
    this.#tools.programs = programs;
    const reachable: Record<string, string> = {};
    for (const [name, bin] of Object.entries(bins)) reachable[name] = await programs.program(bin);
    const envFile = env.EXECUTOR_ENV_FILE;
    const first = this.identities[0] as AgentIdentity;
    const report = await selfCheck(
      this.#tools,
      first,
      {
        dataDir: this.#config.DATA_DIR,
        reposDir: this.#config.REPOS_DIR,
        worktreesDir: this.#config.WORKTREES_DIR,
        homesDir: this.homesDir,
        allowlist: this.#config.REPO_ALLOWLIST,
        // The git credentials too: a token an agent could read would push anywhere the operator can.
        privateFiles: [envFile, this.#config.GIT_CREDENTIALS]
          .filter((f) => f !== undefined)
          .map((f) => path.resolve(f)),
        clis: reachable,
      },
      programs.node,
    );
    this.#metadata = report.metadata;
    this.#clis = report.clis;
    if (report.metadata !== "blocked")
      log("warn", "agent_metadata_reachable", {
        message:
          "agents can reach 169.254.169.254 (cloud metadata): run the executor under the shipped unit (IPAddressDeny) or as root with nftables installed",
      });
    for (const [cli, ok] of Object.entries(report.clis))
      if (!ok) log("warn", "agent_cannot_execute_cli", { cli, path: reachable[cli], identity: first.name });
  }

  /**
   * What runs cut short by a restart left open to their slot: a worktree (its top directory is
   * locked; sweep keeps it as orphaned) and a home (deleted). Pooled and kept trees are locked already.
   */
  async #closeLeftovers(): Promise<void> {
    const slotOf = (gid: number) => this.slots().find((s) => s.gid === gid);
    for (const repo of await listDir(this.#config.WORKTREES_DIR)) {
      const base = path.join(this.#config.WORKTREES_DIR, repo);
      for (const e of await listEntries(base)) {
        // A tree left open to its slot is a hole in the sandbox: a failure to close it stops the start.
        if (e.isDirectory()) await chmod(path.join(base, e.name), 0o700);
      }
    }
    for (const e of await listEntries(this.homesDir)) {
      if (!e.isDirectory()) continue;
      const dir = path.join(this.homesDir, e.name);
      const slot = slotOf((await stat(dir)).gid);
      await removeHome(
        dir,
        slot ? { identity: this.#identityOf(slot.gid), fixPermissions: slot.fixPermissions } : null,
      ).catch((err: unknown) => log("warn", "home_remove_failed", { dir, error: String(err) }));
    }
  }

  /**
   * Before any slot is used (start-up): kills every process of every slot identity, a CLI a killed
   * executor left running included (run-as.ts, killAllOf). Throws SandboxSetupError when one
   * survives: no slot is handed out while something still runs as it.
   */
  async killLeftovers(limitMs = 10_000): Promise<number> {
    let killed = 0;
    for (const id of this.identities) killed += await killAllOf(this.#tools, id, limitMs);
    return killed;
  }

  #identityOf(gid: number): AgentIdentity {
    return this.identities.find((i) => i.gid === gid) as AgentIdentity;
  }

  /** Once the port is bound (as root): agents are also refused on it, before they reach the token check. */
  async listening(port: number): Promise<void> {
    await this.#applyFirewall(port);
  }

  async stop(): Promise<void> {
    if (this.#nft && this.#firewall) await removeFirewall(this.#tools.runProcess, this.#nft, this.#table());
    this.#firewall = false;
  }

  #table(): string {
    return tableName(this.#config.AGENT_USER_PREFIX);
  }

  async #applyFirewall(port: number | null): Promise<void> {
    if (!this.#nft) return;
    const uids = this.identities.map((i) => i.uid);
    this.#firewall = await applyFirewall({
      runProcess: this.#tools.runProcess,
      bin: this.#nft,
      table: this.#table(),
      uids,
      executorPort: port,
      blockPorts: this.#config.AGENT_BLOCK_PORTS,
    });
  }

  /** Per identity, for the worktree manager's sweep (a tree found on disk goes back to its group's slot). */
  slots(): WorktreeSlot[] {
    return this.identities.map((id) => ({
      key: id.name,
      gid: id.gid,
      fixPermissions: (dir: string) => fixPermissions(this.#tools, id, dir),
    }));
  }

  /** A free identity, in FIFO order; waits while all are held by runs still cleaning up. */
  lease(): Promise<AgentLease> {
    const make = (id: AgentIdentity) => new AgentLease(id, this.#tools, () => this.#giveBack(id));
    const id = this.#free.shift();
    if (id) return Promise.resolve(make(id));
    return new Promise((resolve) => this.#waiting.push((next) => resolve(make(next))));
  }

  #giveBack(id: AgentIdentity): void {
    const next = this.#waiting.shift();
    if (next) next(id);
    else this.#free.push(id);
  }

  status(): SandboxStatus {
    return {
      mode: "on",
      identities: this.identities.map((i) => i.name),
      metadata: this.#metadata,
      executorPort: this.#firewall ? "token+firewall" : "token",
      clis: this.#clis,
    };
  }
}

/** null when AGENT_SANDBOX=off (an explicit choice, logged); otherwise a sandbox or SandboxSetupError. */
export const SANDBOX_OFF: SandboxStatus = { mode: "off", reason: "AGENT_SANDBOX=off" };

export function createSandbox(config: SandboxConfig, runProcess: RunProcess): AgentSandbox | null {
  if (config.AGENT_SANDBOX === "off") {
    log("warn", "agent_sandbox_off", {
      message:
        "AGENT_SANDBOX=off: agent CLIs run as the executor's own user and can read its secrets, its job store and every repo",
    });
    return null;
  }
  return AgentSandbox.create(config, runProcess);
}
