import { readFileSync } from "node:fs";
import path from "node:path";

export const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");

export function fixture(name: string): string {
  return path.join(FIXTURES, `${name}.mjs`);
}

/** A minimal env whose `node` is the one running the tests (the fixtures' shebang uses env node). */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, ...extra };
}

/**
 * Whether `pid` is a live process. `kill(pid, 0)` succeeds for zombies, so this reads
 * /proc/<pid>/stat and treats Z (zombie) and X (dead) as gone.
 */
export function isLive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  return state !== "Z" && state !== "X";
}

export function grandchildPid(stdout: string): number {
  const line = stdout.split("\n").find((l) => l.startsWith('{"grandchild"'));
  if (!line) throw new Error(`no grandchild pid in output: ${JSON.stringify(stdout.slice(0, 200))}`);
  return (JSON.parse(line) as { grandchild: number }).grandchild;
}
