/** Reads a captured CLI run from fixtures/ as the ProcessOutcome the runner would have produced. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ProcessOutcome } from "../../src/interfaces.ts";

export const FIXTURES_DIR = path.join(import.meta.dirname, "fixtures");

export interface FixtureMeta {
  exit_code: number | null;
  signal: string | null;
  wall_ms: number;
  /** The capture killed the run itself (as the executor's timeout would). */
  killed_by_harness: boolean;
}

export function fixtureMeta(name: string): FixtureMeta {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, `${name}.meta.json`), "utf8")) as FixtureMeta;
}

/** A run that exited 0 and printed nothing, with `over` on top. */
export function processOutcome(over: Partial<ProcessOutcome> = {}): ProcessOutcome {
  return {
    exitCode: 0,
    signal: null,
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    timedOut: false,
    aborted: false,
    spawnError: null,
    durationMs: 10,
    pid: 1,
    ...over,
  };
}

export function fixtureOutcome(name: string, over: Partial<ProcessOutcome> = {}): ProcessOutcome {
  const stdoutFile = ["json", "jsonl"].map((e) => path.join(FIXTURES_DIR, `${name}.${e}`)).find((f) => existsSync(f));
  const m = fixtureMeta(name);
  return processOutcome({
    exitCode: m.exit_code,
    signal: m.signal,
    stdout: stdoutFile ? readFileSync(stdoutFile, "utf8") : "",
    stderr: readFileSync(path.join(FIXTURES_DIR, `${name}.stderr.txt`), "utf8"),
    durationMs: m.wall_ms,
    pid: 4242,
    ...over,
  });
}
