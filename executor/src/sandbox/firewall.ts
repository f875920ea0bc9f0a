/**
 * Network rules for the agent identities when the executor runs as root without systemd (a
 * container, the local stack, the tests): an nftables table that rejects, for sockets owned by an
 * agent uid only, the link-local range (169.254.0.0/16: the cloud metadata service and its
 * credentials; fe80::/10 and AWS's fd00:ec2::254), the executor's own port on any local address, and
 * AGENT_BLOCK_PORTS (the local stack's Worker and wrangler's inspector: a Worker's API is open to
 * anyone with a token, and the inspector to anyone at all).
 * Under the shipped unit the executor is not root; there `IPAddressDeny=` covers the metadata range
 * for the whole service and EXECUTOR_SECRET, which agents cannot read, guards the port.
 *
 * The table is named after the identity prefix, replaced on every start and deleted at shutdown;
 * rules match agent uids only, so nothing else on the machine is affected.
 */
import { log } from "../log.ts";
import type { RunProcess } from "./run-as.ts";

const METADATA_V4 = "169.254.0.0/16";
const METADATA_V6 = ["fe80::/10", "fd00:ec2::254"];

export function tableName(prefix: string): string {
  return `vault_agents_${prefix.replace(/[^A-Za-z0-9]/g, "_")}`.slice(0, 60);
}

function ruleset(table: string, uids: readonly number[], ports: readonly number[]): string {
  const who = `meta skuid { ${uids.join(", ")} }`;
  const reject = "reject with icmpx type admin-prohibited";
  return [
    // Declared, deleted and declared again in one transaction: a re-run replaces the old rules.
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    `    ${who} ip daddr ${METADATA_V4} ${reject}`,
    `    ${who} ip6 daddr { ${METADATA_V6.join(", ")} } ${reject}`,
    ...(ports.length > 0
      ? [`    ${who} fib daddr type local tcp dport { ${ports.join(", ")} } reject with tcp reset`]
      : []),
    "  }",
    "}",
  ].join("\n");
}

async function nft(runProcess: RunProcess, bin: string, script: string): Promise<string | null> {
  const out = await runProcess({
    argv: [bin, script],
    cwd: "/",
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" },
    timeoutMs: 10_000,
    killGraceMs: 1_000,
    maxOutputBytes: 64 * 1024,
  });
  if (out.exitCode === 0) return null;
  return (out.spawnError ?? out.stderr.trim().split("\n")[0] ?? `exit ${out.exitCode}`) || `exit ${out.exitCode}`;
}

/** True when the rules are in place; a failure is logged and leaves the network unfiltered. */
export interface FirewallOptions {
  runProcess: RunProcess;
  /** The nft executable. */
  bin: string;
  table: string;
  /** The agent identities' uids the rules apply to. */
  uids: readonly number[];
  /** The executor's own port, which the agents may not reach (null: none yet). */
  executorPort: number | null;
  /** Other local ports closed to them (AGENT_BLOCK_PORTS). */
  blockPorts?: readonly number[];
}

export async function applyFirewall({
  runProcess,
  bin,
  table,
  uids,
  executorPort,
  blockPorts = [],
}: FirewallOptions): Promise<boolean> {
  const ports = [...new Set([...(executorPort ? [executorPort] : []), ...blockPorts])];
  const error = await nft(runProcess, bin, ruleset(table, uids, ports));
  if (error !== null) log("warn", "agent_firewall_failed", { table, error });
  return error === null;
}

export async function removeFirewall(runProcess: RunProcess, bin: string, table: string): Promise<void> {
  const error = await nft(runProcess, bin, `table inet ${table}\ndelete table inet ${table}`);
  if (error !== null) log("warn", "agent_firewall_remove_failed", { table, error });
}
