/**
 * The sandbox is never silently off: when it cannot do what it promises the executor does not start
 * (exit 2, a configuration error systemd will not restart) and says what to fix or how to turn it
 * off on purpose.
 */
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, spawnExecutor } from "../server/harness.ts";
import { cleanupAll, IS_ROOT, makeIdentities, sandboxHarness, type TestIdentities } from "./helpers.ts";

const refusal = (h: Harness, extra: Record<string, string> = {}) =>
  spawnExecutor(h, extra).then(
    () => {
      throw new Error("the executor started");
    },
    (err: unknown) => (err as Error).message,
  );

describe("start-up refuses a sandbox that cannot work", () => {
  const hs: Harness[] = [];
  let ids: TestIdentities | undefined;
  beforeAll(() => {
    if (IS_ROOT) ids = makeIdentities(2);
  });
  afterAll(() => cleanupAll(...hs.map((h) => () => h.cleanup()), () => ids?.remove()));

  it("identities that do not exist (or, not root, no capabilities to switch): exit 2, what to do", async () => {
    const h = sandboxHarness("vt-nobody-here-");
    hs.push(h);
    const message = await refusal(h);
    expect(message).toMatch(/^executor exited 2/);
    expect(message).toMatch(IS_ROOT ? /no such user vt-nobody-here-0, vt-nobody-here-1/ : /lacks CAP_SETUID/);
    expect(message).toContain("AGENT_SANDBOX=off");
  });

  it.skipIf(!IS_ROOT)("the self-check finds the repos readable by the identities: exit 2, names the hole", async () => {
    const h = sandboxHarness(ids?.prefix ?? "");
    hs.push(h);
    chmodSync(path.join(h.dir, "repos"), 0o755);
    const message = await refusal(h);
    expect(message).toMatch(/^executor exited 2/);
    expect(message).toContain(`can read ${path.join(h.dir, "repos", "demo", ".git", "config")}`);
    expect(message).toContain("chmod 0700");
  });

  it.skipIf(!IS_ROOT)("a GIT_CREDENTIALS file the identities can read: exit 2, names it", async () => {
    const h = sandboxHarness(ids?.prefix ?? "");
    hs.push(h);
    const file = path.join(h.dir, "git-credentials");
    writeFileSync(file, "https://x-access-token:ghp_0000@github.com\n");
    chmodSync(file, 0o644);
    const message = await refusal(h, { GIT_CREDENTIALS: file });
    expect(message).toMatch(/^executor exited 2/);
    expect(message).toContain(`can read ${file}`);
    expect(message).not.toContain("ghp_0000");
  });

  it.skipIf(!IS_ROOT)(
    "a state directory the identities cannot pass through: exit 2, says which mode to set",
    async () => {
      const h = sandboxHarness(ids?.prefix ?? "");
      hs.push(h);
      chmodSync(h.dir, 0o700);
      const message = await refusal(h);
      expect(message).toMatch(/^executor exited 2/);
      expect(message).toMatch(/cannot work in its per-run home .* searchable by other users \(chmod o\+x\)/);
    },
  );
});
