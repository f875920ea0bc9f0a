/**
 * The per-run home as the hook for what a run gets from the executor: what `prepare` wrote is handed
 * to the identity's group (and nothing through a symlink), a name is never reused, and what the CLI
 * wrote back is read only as a regular file inside the home, never through a link an agent planted.
 * The identity here is this process's own group, so the modes are checked without root.
 */
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createHome, type HomeOwner, handOver, readBack, removeHome } from "../../src/sandbox/homes.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "vault-homes-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const gid = process.getgid?.() ?? 0;
let fixed = 0;
const owner: HomeOwner = {
  identity: { name: "self", uid: process.getuid?.() ?? 0, gid },
  fixPermissions: async () => {
    fixed += 1;
  },
};
const mode = (p: string) => (lstatSync(p).mode & 0o777).toString(8);

describe("per-run homes", () => {
  it("the home opens to the identity's group; what prepare wrote (0600, 0700) gets the group's rights too", async () => {
    const home = await createHome(path.join(root, "homes"), "j-1", owner);
    expect(mode(home)).toBe("770");
    expect(lstatSync(home).gid).toBe(gid);
    mkdirSync(path.join(home, ".codex"), { mode: 0o700 });
    writeFileSync(path.join(home, ".codex", "config.toml"), "x", { mode: 0o600 });
    const target = path.join(root, "executor-only");
    writeFileSync(target, "no", { mode: 0o600 });
    symlinkSync(target, path.join(home, "link"));
    await handOver(home, owner);
    expect(mode(path.join(home, ".codex"))).toBe("770");
    expect(mode(path.join(home, ".codex", "config.toml"))).toBe("660");
    // A link is left as it is: chmod would have followed it to its target.
    expect(lstatSync(path.join(home, "link")).isSymbolicLink()).toBe(true);
    expect(mode(target)).toBe("600");
    await expect(createHome(path.join(root, "homes"), "j-1", owner)).rejects.toThrow(/EEXIST/);
    await removeHome(home, owner);
  });

  it("readBack reads a refreshed token, and refuses a planted link or a path out of the home", async () => {
    const home = await createHome(path.join(root, "homes"), "j-2", owner);
    mkdirSync(path.join(home, ".codex"));
    writeFileSync(path.join(home, ".codex", "auth.json"), '{"refreshed":true}');
    expect(String(await readBack(home, ".codex/auth.json", owner))).toBe('{"refreshed":true}');
    const outside = path.join(root, "executor-file");
    writeFileSync(outside, "the executor's");
    symlinkSync(outside, path.join(home, "token.json"));
    expect(await readBack(home, "token.json", owner)).toBeNull();
    mkdirSync(path.join(root, "elsewhere"));
    writeFileSync(path.join(root, "elsewhere", "auth.json"), "the executor's");
    symlinkSync(path.join(root, "elsewhere"), path.join(home, ".gemini"));
    expect(await readBack(home, ".gemini/auth.json", owner)).toBeNull();
    await expect(readBack(home, "../executor-file", owner)).rejects.toThrow(/not a path inside the home/);
    expect(await readBack(home, "missing.json", owner)).toBeNull();
    expect(fixed).toBe(0);
    await removeHome(home, owner);
  });
});
