/** Copies of a login for sandboxed runs: what goes in, what comes back, and who may hold one. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { copyLogin, LoginLocks, sameLogin, writeBackLogin } from "../../src/login-sync.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "vault-login-sync-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const auth = (access: string, refresh: string, account = "acct") =>
  JSON.stringify({
    auth_mode: "chatgpt",
    OPENAI_API_KEY: null,
    tokens: { access_token: access, refresh_token: refresh, account_id: account },
  });
const FILES = { files: [{ login: "auth.json", run: ".codex/auth.json" }], exclusive: true };

function setup(): { login: string; home: string } {
  const root = path.join(dir, `c${++n}`);
  const login = path.join(root, "login");
  const home = path.join(root, "home");
  mkdirSync(login, { recursive: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(path.join(login, "auth.json"), auth("at-1", "rt-1"));
  return { login, home };
}

describe("login sync", () => {
  it("copies the login into the run's home; a refresh comes back, atomically; nothing else does", async () => {
    const { login, home } = setup();
    const copy = await copyLogin(FILES, login, home);
    expect(readFileSync(path.join(home, ".codex", "auth.json"), "utf8")).toBe(auth("at-1", "rt-1"));
    expect(await writeBackLogin({ files: FILES, copy, loginHome: login, home, owner: null })).toEqual([]);
    writeFileSync(path.join(home, ".codex", "auth.json"), auth("at-2", "rt-2"));
    expect(await writeBackLogin({ files: FILES, copy, loginHome: login, home, owner: null })).toEqual(["auth.json"]);
    expect(readFileSync(path.join(login, "auth.json"), "utf8")).toBe(auth("at-2", "rt-2"));
  });

  it("refuses what is not the same login (garbage, another account, a field dropped) and a login changed meanwhile", async () => {
    for (const written of ["not json", auth("at-2", "rt-2", "other-account"), JSON.stringify({ tokens: null })]) {
      const { login, home } = setup();
      const copy = await copyLogin(FILES, login, home);
      writeFileSync(path.join(home, ".codex", "auth.json"), written);
      expect(await writeBackLogin({ files: FILES, copy, loginHome: login, home, owner: null })).toEqual([]);
      expect(readFileSync(path.join(login, "auth.json"), "utf8")).toBe(auth("at-1", "rt-1"));
    }
    const { login, home } = setup();
    const copy = await copyLogin(FILES, login, home);
    writeFileSync(path.join(login, "auth.json"), auth("at-9", "rt-9")); // a new login by hand
    writeFileSync(path.join(home, ".codex", "auth.json"), auth("at-2", "rt-2"));
    expect(await writeBackLogin({ files: FILES, copy, loginHome: login, home, owner: null })).toEqual([]);
    expect(readFileSync(path.join(login, "auth.json"), "utf8")).toBe(auth("at-9", "rt-9"));
    expect(sameLogin(Buffer.from(auth("a", "r")), Buffer.from(auth("b", "s")))).toBe(true);
  });

  it("a missing optional file is not copied; a lock is held by one at a time, in order", async () => {
    const { login, home } = setup();
    const copy = await copyLogin({ files: [{ login: "none.json", run: "none.json" }], exclusive: false }, login, home);
    expect(copy.size).toBe(0);
    const locks = new LoginLocks();
    const order: string[] = [];
    const first = await locks.acquire(login);
    const second = locks.acquire(login).then((release) => {
      order.push("second");
      release();
    });
    await new Promise((r) => setTimeout(r, 20));
    order.push("first done");
    first();
    await second;
    expect(order).toEqual(["first done", "second"]);
    (await locks.acquire(login))();
  });
});
