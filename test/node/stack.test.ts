import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { holdPort, release } from "../../scripts/processes.ts";
import { ensureSecrets, freePorts, StackError, startStack } from "../../scripts/stack.ts";
import { chooseStateDir } from "../../scripts/state-dir.ts";
import { workerLogFilter } from "../../scripts/worker-log.ts";

describe("npm start's stack", () => {
  it("refuses a port in use with a message that says what to do, before starting anything", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-stack-"));
    try {
      const err = await startStack({
        workerPort: port,
        executorPort: port + 1,
        inspectorPort: port + 2,
        stateDir: path.join(dir, "s"),
        secretsFile: path.join(dir, "secrets"),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StackError);
      expect((err as Error).message).toContain(`port ${port} (worker) is already in use`);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("creates missing dev secrets once (mode 0600) and keeps existing ones", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-secrets-"));
    try {
      const file = path.join(dir, ".dev.vars");
      const first = ensureSecrets(file);
      expect(first.VAULT_AUTH_TOKEN).toMatch(/^[0-9a-f]{48}$/);
      expect(ensureSecrets(file)).toEqual(first);
      expect(readFileSync(file, "utf8")).toContain(`EXECUTOR_SECRET=${first.EXECUTOR_SECRET}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("free ports come from the kernel, distinct", async () => {
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
    for (const p of ports) expect(p).toBeGreaterThan(1023);
  });

  it("a port held for a moment is let go at once even while a stray client is connected to it", async () => {
    // A process of another stack still calling a port it used before can reach a port we probe; the
    // probe must not wait for that client (it hung an e2e suite's start-up for 3 minutes once).
    const srv = await holdPort(0);
    const port = (srv.address() as net.AddressInfo).port;
    const client = net.connect(port, "127.0.0.1");
    client.on("error", () => undefined); // the probe drops it: a reset is the expected end
    await new Promise<void>((r) => client.once("connect", () => r()));
    const released = await Promise.race([
      release(srv).then(() => "released"),
      new Promise((r) => setTimeout(() => r("still waiting"), 2_000)),
    ]);
    client.destroy();
    expect(released).toBe("released");
  });

  it("a task that ended unsuccessfully is one plain line in npm start's output, not wrangler's red stack trace; accepted heartbeats are not printed", () => {
    const filter = workerLogFilter();
    const wrangler = [
      "[wrangler:info] POST /api/execute 200 OK (299ms)",
      "\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1mUncaught TaskEnded: task t-20261207-0119-9fajas failed: no profile could run Error\x1b[0m",
      "",
      "      at run (file:///repo/workflows/execute-workflow.ts:117:43)",
      "",
      "",
      "[wrangler:info] GET /health 200 OK (3ms)",
      "[wrangler:info] POST /api/executors/heartbeat 200 OK (8ms)",
      "[wrangler:info] POST /api/executors/heartbeat 401 Unauthorized (3ms)",
    ];
    expect(wrangler.map(filter).filter((l) => l !== null)).toEqual([
      "[wrangler:info] POST /api/execute 200 OK (299ms)",
      "task t-20261207-0119-9fajas failed: no profile could run",
      "[wrangler:info] GET /health 200 OK (3ms)",
      // An accepted heartbeat is not news; a refused one is.
      "[wrangler:info] POST /api/executors/heartbeat 401 Unauthorized (3ms)",
    ]);
  });

  it("the state dir leaves a checkout the agent users cannot enter (sandbox on), and only then", async () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), "vault-closed-")); // 0700, like root's home
    const open = mkdtempSync(path.join(os.tmpdir(), "vault-open-"));
    chmodSync(open, 0o755);
    try {
      const root = path.join(closed, "vault-mcp");
      const shared = path.join(open, "shared");
      const moved = await chooseStateDir({ root, explicit: undefined, sandboxed: true, sharedRoot: shared });
      expect(moved).toMatchObject({ dir: expect.stringMatching(new RegExp(`^${shared}/vault-mcp-[0-9a-f]{8}$`)) });
      expect("note" in moved && moved.note).toContain(`${closed}, which agent users cannot enter`);
      // Agents as this user, or a checkout others can reach: the checkout's own .vault.
      expect(await chooseStateDir({ root, explicit: undefined, sandboxed: false })).toEqual({
        dir: path.join(root, ".vault"),
      });
      const reachable = path.join(open, "vault-mcp");
      expect(await chooseStateDir({ root: reachable, explicit: undefined, sandboxed: true })).toEqual({
        dir: path.join(reachable, ".vault"),
      });
      // Asked for by name but closed: refused, saying what to change.
      const refused = await chooseStateDir({ root, explicit: path.join(closed, "state"), sandboxed: true });
      expect("refuse" in refused && refused.refuse).toMatch(/closed to other users\. .*chmod o\+x .*AGENT_SANDBOX=off/);
    } finally {
      rmSync(closed, { recursive: true, force: true });
      rmSync(open, { recursive: true, force: true });
    }
  });
});
