/**
 * Local `wrangler dev` keeps every finished workflow instance forever (about 0.5 MB of state each): it
 * ignores the retention the Worker sets at create (workflows/retention.ts). `npm start` prunes, at
 * start, finished instances created longer ago than that retention, through wrangler's own local
 * commands (`workflows instances list` / `delete --local`), which remove their state files. The tasks
 * stay in D1. Age is counted from creation (what the local listing knows), so an instance that ran
 * long is kept a little longer than its retention, never less.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { z } from "zod";
import { INSTANCE_RETENTION } from "../workflows/retention.ts";

const WORKFLOW = "execute-workflow";
/** wrangler lists and deletes at most 100 instances per call. */
const PAGE = 100;

const Listed = z.array(z.object({ id: z.string(), status: z.string().optional() }));

/** `wrangler <args> --local --port <port>`: its stdout, or an error with its stderr. */
export type WranglerRun = (args: string[]) => Promise<string>;

export function localWrangler(root: string, port: number): WranglerRun {
  const bin = path.join(root, "node_modules", ".bin", "wrangler");
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        bin,
        [...args, "--local", "--port", String(port)],
        {
          cwd: root,
          env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, stdout, stderr) =>
          err ? reject(new Error(`wrangler ${args[0]} failed: ${stderr || err.message}`)) : resolve(stdout),
      );
    });
}

/** The finished states and how long each is kept. */
const KEPT: readonly [status: string, ms: number][] = [
  ["complete", INSTANCE_RETENTION.successRetention],
  ["errored", INSTANCE_RETENTION.errorRetention],
  ["terminated", INSTANCE_RETENTION.errorRetention],
];

/** Deletes finished instances older than their retention; returns their ids. */
export async function pruneFinishedInstances(wrangler: WranglerRun, now = Date.now()): Promise<string[]> {
  const deleted: string[] = [];
  for (const [status, keptMs] of KEPT) {
    const before = new Date(now - keptMs).toISOString();
    for (;;) {
      const out = await wrangler([
        "workflows",
        "instances",
        "list",
        WORKFLOW,
        "--status",
        status,
        "--date-end",
        before,
        "--per-page",
        String(PAGE),
        "--json",
      ]);
      const ids = Listed.parse(JSON.parse(out)).map((i) => i.id);
      if (ids.length === 0) break;
      if (ids.some((id) => deleted.includes(id)))
        throw new Error(`wrangler still lists ${status} instances it deleted; prune stopped`);
      await wrangler(["workflows", "instances", "delete", WORKFLOW, ...ids, "--json"]);
      deleted.push(...ids);
      // A short page was the last one.
      if (ids.length < PAGE) break;
    }
  }
  return deleted;
}
