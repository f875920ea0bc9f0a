import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { dropIncompleteTail } from "../../src/process/capped-output.ts";
import { isGroupAlive, killGroupAndWait, parseProcStat, signalGroup } from "../../src/process/kill-tree.ts";
import { isLive } from "./helpers.ts";

describe("parseProcStat", () => {
  it("reads state and group past a command name with spaces and parentheses", () => {
    expect(parseProcStat(42, "42 (a) b (c)) S 1 40 40 0 -1 4194560")).toEqual({
      pid: 42,
      state: "S",
      ppid: 1,
      pgrp: 40,
      session: 40,
    });
    expect(parseProcStat(42, "garbage")).toBeNull();
  });
});

describe("group liveness", () => {
  it("a group whose only member is a zombie counts as gone, though kill(-pgid, 0) still succeeds", async () => {
    // sh starts a child that moves to its own session and group (setsid) and exits at once, then
    // becomes `sleep`, which never reaps it: a zombie alone in its group.
    const parent = spawn("/bin/sh", ["-c", "setsid sleep 0 & echo $!; exec sleep 30"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const [line] = (await once(parent.stdout, "data")) as [Buffer];
      const zombie = Number(line.toString().trim());
      // Wait until the child has become a zombie in its own group.
      for (let i = 0; i < 200 && isLive(zombie); i++) await new Promise((r) => setTimeout(r, 10));
      expect(isLive(zombie)).toBe(false);
      expect(signalGroup(zombie, 0)).toBe(true);
      expect(await isGroupAlive(zombie)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("a group with a live member counts as alive until killGroupAndWait ends it", async () => {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" });
    await once(child, "spawn");
    const pgid = child.pid as number;
    expect(await isGroupAlive(pgid)).toBe(true);
    expect(await killGroupAndWait(pgid, 5_000)).toBe(true);
    expect(await isGroupAlive(pgid)).toBe(false);
    expect(signalGroup(pgid, "SIGTERM")).toBe(false);
  });
});

describe("dropIncompleteTail", () => {
  const euro = Buffer.from("€"); // e2 82 ac
  it("drops a lead byte or a partial sequence at the end", () => {
    expect(dropIncompleteTail(Buffer.concat([Buffer.from("ab"), euro.subarray(0, 1)])).toString()).toBe("ab");
    expect(dropIncompleteTail(Buffer.concat([Buffer.from("ab"), euro.subarray(0, 2)])).toString()).toBe("ab");
  });
  it("keeps complete sequences and plain ASCII", () => {
    expect(dropIncompleteTail(Buffer.concat([Buffer.from("ab"), euro])).toString()).toBe("ab€");
    expect(dropIncompleteTail(Buffer.from("abc")).toString()).toBe("abc");
    expect(dropIncompleteTail(Buffer.alloc(0)).length).toBe(0);
  });
});
