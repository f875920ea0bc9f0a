import { ExecutorId, ExecutorList, ExecutorStateChange } from "@vault-mcp/contract";
import { parseFlags, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { age, paint, table } from "../format.ts";

const ACTIONS = ["drain", "resume"] as const;

export const executors: Command = {
  name: "executors",
  summary: "List the executor pool (state, slots, jobs, repos, profiles, heartbeat); drain or resume one.",
  about: `Every executor started with POOL_URL heartbeats to the Worker; this lists what each last said.
STATE is active or draining (an operator drained it: no new job goes there, its running jobs finish);
HEARTBEAT is stale when the executor has been silent longer than the lease, and then its running jobs
are dispatched again on the others. Without a pool, the one executor at EXECUTOR_URL is listed.`,
  usage: ["executors [--json]", "executors drain <id> [--json]", "executors resume <id> [--json]"],
  flags: "  --json   the API's answer as JSON",
  examples: ["vault executors", "vault executors drain vm-2", "vault executors resume vm-2"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
    const [action, id, ...extra] = positionals;
    const api = connect(values, io);
    if (action !== undefined) {
      if (!ACTIONS.includes(action as (typeof ACTIONS)[number]))
        throw new UsageError(`unknown action '${action}'; one of: ${ACTIONS.join(", ")}`);
      if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const target = ExecutorId.safeParse(id);
      if (!target.success)
        throw new UsageError(`executors ${action} takes an executor id (vault executors lists them)`);
      const done = await api.request(
        "POST",
        `/api/executors/${encodeURIComponent(target.data)}/${action}`,
        ExecutorStateChange,
      );
      if (values.json) io.out(JSON.stringify(done, null, 2));
      else
        io.out(
          done.state === "draining"
            ? `${done.id}: draining; no new job goes there${done.running.length ? `, ${done.running.length} running job(s) finish` : ""}`
            : `${done.id}: active; it takes jobs again`,
        );
      return 0;
    }
    const list = await api.get("/api/executors", ExecutorList);
    if (values.json) {
      io.out(JSON.stringify(list, null, 2));
      return 0;
    }
    const now = io.now();
    io.out(
      table(
        ["ID", "STATE", "SLOTS", "RUNNING", "REPOS", "READY PROFILES", "VERSION", "HEARTBEAT"],
        list.executors.map((e) => [
          e.id,
          e.stopping && e.state === "active"
            ? paint("stopping", "warn", io.color)
            : e.state === "draining"
              ? paint("draining", "warn", io.color)
              : e.state,
          e.capacity === null ? "?" : String(e.capacity),
          e.running.length ? e.running.join(",") : e.source === "config" ? "?" : "-",
          e.repos.join(",") || (e.source === "config" ? "?" : "-"),
          e.readyProfiles.join(",") || (e.source === "config" ? "(vault health)" : "none"),
          e.version ?? "?",
          e.lastHeartbeatAt === null
            ? "none (EXECUTOR_URL)"
            : `${age(e.lastHeartbeatAt, now)}${e.fresh ? "" : ` ${paint("STALE", "bad", io.color)}`}`,
        ]),
      ),
    );
    return 0;
  },
};
