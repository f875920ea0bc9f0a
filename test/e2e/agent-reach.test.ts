/**
 * What a sandboxed agent can reach of the local stack: the real stack started as root (agents run as
 * this stack's slot identities), probed as such an identity with setpriv, as a CLI the executor
 * started would be. It reads no state, log or token file of ours, and cannot connect to the Worker
 * (whose API a token would open) or to wrangler's inspector; the executor's port was closed already.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, startE2E } from "./fixture.ts";

const IS_ROOT = process.getuid?.() === 0;

let e: E2E;
let identity: { uid: string; gid: string };
beforeAll(async () => {
  if (!IS_ROOT) return;
  e = await startE2E({});
  const name = `vault-e${new URL(e.stack.executorUrl).port}-0`;
  identity = {
    uid: execFileSync("id", ["-u", name], { encoding: "utf8" }).trim(),
    gid: execFileSync("id", ["-g", name], { encoding: "utf8" }).trim(),
  };
}, 180_000);
afterAll(async () => {
  await e?.stop();
}, 60_000);

/** Runs argv as the agent identity, the way the executor starts a CLI (setpriv, no groups). */
function asAgent(argv: string[], input?: string) {
  return spawnSync(
    "setpriv",
    [`--reuid=${identity.uid}`, `--regid=${identity.gid}`, "--clear-groups", "--inh-caps=-all", "--", ...argv],
    { encoding: "utf8", input, timeout: 60_000 },
  );
}

/** Every file under `dir` (listed as root), but the CLIs and node staged for the agents to run. */
function filesUnder(dir: string, skip: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (p === skip) continue;
    if (entry.isDirectory()) out.push(...filesUnder(p, skip));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

describe.skipIf(!IS_ROOT)("a sandboxed agent and the local stack", () => {
  it("reads none of the stack's files: state, logs, the token (secrets), the executor's store", () => {
    const staged = path.join(e.dir, "state", "executor", "agent-tools");
    const files = filesUnder(e.dir, staged);
    expect(files.length).toBeGreaterThan(10);
    expect(files).toContain(path.join(e.dir, "secrets.env"));
    expect(files.some((f) => f.startsWith(path.join(e.dir, "state", "wrangler")))).toBe(true);
    // `[ -r ]` asks the kernel (access(2)) with the identity's uid: what it could open.
    const r = asAgent(
      ["/bin/sh", "-c", 'while IFS= read -r f; do [ -r "$f" ] && printf "%s\\n" "$f"; done; exit 0'],
      `${files.join("\n")}\n`,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean)).toEqual([]);
    // And the staged tools it may run are the public packages, nothing with a secret.
    expect(statSync(staged).mode & 0o777).toBe(0o755);
  });

  it("cannot connect to the Worker (its API takes a token) nor to wrangler's inspector; the executor is closed too", () => {
    const ports = {
      worker: new URL(e.stack.workerUrl).port,
      inspector: String(e.stack.inspectorPort),
      executor: new URL(e.stack.executorUrl).port,
    };
    for (const [what, port] of Object.entries(ports)) {
      // As root the port answers: the refusal below is the identity's, not a dead port.
      const root = spawnSync("curl", ["-s", "-o", "/dev/null", "--max-time", "3", `http://127.0.0.1:${port}/`]);
      expect(root.status, `${what} as root`).toBe(0);
      const agent = asAgent(["curl", "-s", "-o", "/dev/null", "--max-time", "3", `http://127.0.0.1:${port}/`]);
      // 7: connection refused; 56: reset (nftables' tcp reset); never 0 (an HTTP answer).
      expect([7, 56], `${what} as the agent: curl exit ${agent.status}`).toContain(agent.status);
    }
  });
});
