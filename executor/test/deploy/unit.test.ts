/** The shipped systemd unit verifies clean and scores ≤ 2.0 exposure; the install script dry-runs. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const DEPLOY = path.join(import.meta.dirname, "..", "..", "deploy");
const UNIT = path.join(DEPLOY, "vault-executor.service");

function analyze(args: string[]) {
  const r = spawnSync("systemd-analyze", args, { encoding: "utf8" });
  if (r.error) throw new Error("systemd-analyze is missing: install the 'systemd' package (.ci/run does)");
  return r;
}

function exposure(unitFile: string): number {
  const r = analyze(["security", "--offline=true", unitFile]);
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout);
  if (!m?.[1]) throw new Error(`no exposure score in: ${r.stdout.slice(-500)} ${r.stderr}`);
  return Number(m[1]);
}

/** A copy whose ExecStart uses this machine's node, so verify can resolve it; nothing else changes. */
function localCopy(text: string): { file: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-unit-"));
  const file = path.join(dir, "vault-executor.service");
  writeFileSync(file, text.replace("ExecStart=/usr/bin/node", `ExecStart=${process.execPath}`));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("systemd unit", () => {
  it("systemd-analyze verify exits 0 with nothing on stderr", () => {
    const copy = localCopy(readFileSync(UNIT, "utf8"));
    try {
      const r = analyze(["verify", copy.file]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.trim()).toBe("");
    } finally {
      copy.cleanup();
    }
  });

  it("exposure ≤ 2.0 offline, and the threshold check passes", () => {
    expect(exposure(UNIT)).toBeLessThanOrEqual(2.0);
    const r = analyze(["security", "--offline=true", "--threshold=20", UNIT]);
    expect(r.status).toBe(0);
  });

  it("a weak unit scores above 2.0 and fails the threshold (the check can fail)", () => {
    const weak = localCopy("[Service]\nExecStart=/usr/bin/node /opt/x.js\n");
    try {
      expect(exposure(weak.file)).toBeGreaterThan(2.0);
      expect(analyze(["security", "--offline=true", "--threshold=20", weak.file]).status).not.toBe(0);
    } finally {
      weak.cleanup();
    }
  });

  it("keeps MemoryDenyWriteExecute off (V8 needs W+X memory); SIGTERM to the executor, then SIGKILL to the cgroup", () => {
    const text = readFileSync(UNIT, "utf8");
    expect(text).toMatch(/^MemoryDenyWriteExecute=no$/m);
    // mixed: the executor drains its jobs on SIGTERM; whatever is left in the cgroup is SIGKILLed after.
    expect(text).toMatch(/^KillMode=mixed$/m);
    expect(text).toMatch(/^NoNewPrivileges=yes$/m);
  });

  it("agent sandbox: only the capabilities the identity switch needs, no user namespace mapping, no metadata route", () => {
    const text = readFileSync(UNIT, "utf8");
    expect(text).toMatch(/^CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL$/m);
    expect(text).toMatch(/^AmbientCapabilities=CAP_SETUID CAP_SETGID CAP_KILL$/m);
    // PrivateUsers maps only root and the service user: the agent identities would not exist.
    expect(text).not.toMatch(/^PrivateUsers=/m);
    expect(text).toMatch(/^IPAddressDeny=.*\b169\.254\.0\.0\/16\b/m);
    expect(text).toMatch(/^RestrictNamespaces=yes$/m);
    // The identities pass through the state directory to their worktree and home.
    expect(text).toMatch(/^StateDirectoryMode=0711$/m);
  });

  it("install.sh is valid bash and its dry run names every step (and what it would refuse) without changing anything", () => {
    expect(spawnSync("bash", ["-n", path.join(DEPLOY, "install.sh")]).status).toBe(0);
    // A node under /tmp is hidden from the service by PrivateTmp: a real install stops there, the dry
    // run says so and still shows every step.
    const hidden = "/tmp/vault-no-such-dir/node";
    const dryRun = (env: NodeJS.ProcessEnv = {}) =>
      spawnSync("bash", [path.join(DEPLOY, "install.sh"), "--dry-run"], {
        encoding: "utf8",
        env: { ...process.env, NODE_BIN: hidden, ...env },
      });
    const r = dryRun();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would refuse: NODE_BIN=${hidden} is hidden from the service (ProtectHome/PrivateTmp)`);
    for (const step of [
      "create system user",
      "build the executor bundle",
      "install to /opt/vault-executor",
      "environment file",
      "agent identities",
      "install the unit",
      "health check",
    ]) {
      expect(r.stdout).toContain(step);
    }
    // One identity per slot (MAX_EXECUTORS defaults to 2), the service user in each one's group. On a
    // machine where npm start ran as root (its identities have the same names) the users exist
    // already, and the dry run says so instead of creating them: either is right.
    for (const i of [0, 1]) {
      expect(r.stdout).toMatch(
        new RegExp(`(useradd --system --user-group .*vault-agent-${i}|user vault-agent-${i} exists)\\n`),
      );
      expect(r.stdout).toContain(`usermod --append --groups vault-agent-${i} vault-executor`);
    }
    expect(r.stdout).toContain("install -d -m 0700 -o vault-executor -g vault-executor /var/lib/vault-executor/repos");
    expect(r.stdout).toContain("executor pool: none (no POOL_URL)");

    // Joining a pool: POOL_URL goes into the env file; the id is the hostname's unless given.
    const hostId = os
      .hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "")
      .slice(0, 63);
    const pooled = dryRun({ POOL_URL: "https://vault.example.com" });
    expect(pooled.status, pooled.stderr).toBe(0);
    expect(pooled.stdout).toContain("executor pool: join https://vault.example.com by heartbeat");
    expect(pooled.stdout).toContain("would set POOL_URL=https://vault.example.com in /etc/vault-executor/executor.env");
    expect(pooled.stdout).toContain(`its id in the pool: ${hostId}\n`);
    expect(pooled.stdout).not.toContain("would set EXECUTOR_ID");
    const named = dryRun({
      POOL_URL: "https://vault.example.com",
      EXECUTOR_ID: "vm-2",
      EXECUTOR_PUBLIC_URL: "https://vm-2.example.com",
    });
    expect(named.stdout).toContain("would set EXECUTOR_ID=vm-2 in");
    expect(named.stdout).toContain("its id in the pool: vm-2 (EXECUTOR_ID)");
    expect(named.stdout).toContain("the Worker reaches it at https://vm-2.example.com");
    const bad = dryRun({ POOL_URL: "ftp://vault.example.com", EXECUTOR_ID: "-bad" });
    expect(bad.stdout).toContain(
      "would refuse: POOL_URL='ftp://vault.example.com' is not the Worker's http(s) base URL",
    );
    expect(bad.stdout).toContain("would refuse: EXECUTOR_ID='-bad' must be");

    // The same dry run where the identities exist already (as after npm start as root), without
    // touching this machine's users: an `id` in front on PATH reports them.
    const bin = mkdtempSync(path.join(os.tmpdir(), "vault-fake-id-"));
    try {
      writeFileSync(
        path.join(bin, "id"),
        '#!/bin/sh\ncase "$2" in vault-agent-*) echo 12345; exit 0 ;; esac\nexec /usr/bin/id "$@"\n',
        { mode: 0o755 },
      );
      const again = dryRun({ PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` });
      expect(again.status, again.stderr).toBe(0);
      for (const i of [0, 1]) {
        expect(again.stdout).toContain(`user vault-agent-${i} exists\n`);
        expect(again.stdout).toContain(`usermod --append --groups vault-agent-${i} vault-executor`);
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
