import { HealthView } from "@vault-mcp/contract";
import { noPositionals, parseFlags } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { paint } from "../format.ts";

export const health: Command = {
  name: "health",
  summary: "Check the Worker, D1, the executor and the breakers; exit 1 when degraded.",
  usage: ["health [--json]"],
  flags: "  --json   the API's answer as JSON",
  examples: ["vault health", "VAULT_URL=https://vault-mcp.example.workers.dev vault health"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
    noPositionals(positionals);
    const h = await connect(values, io).get("/api/health", HealthView);
    const ok = h.status === "ok";
    if (values.json) io.out(JSON.stringify(h, null, 2));
    else io.out(renderHealth(h, io.color));
    if (!ok) io.err(`vault: the Worker reports ${h.status}: ${h.reasons.join("; ") || "see above"}`);
    return ok ? 0 : 1;
  },
};

export function renderHealth(h: HealthView, color: boolean): string {
  const up = (reachable: boolean, detail: string) => (reachable ? `up${detail}` : paint("DOWN", "bad", color));
  const e = h.executor;
  const load = e.running !== undefined ? `, ${e.running}/${e.capacity ?? "?"} running, ${e.queued ?? 0} queued` : "";
  const brk =
    h.breakers === null
      ? paint("unreadable", "bad", color)
      : h.breakers.blocked
        ? paint("day BLOCKED", "bad", color)
        : h.breakers.flagged
          ? paint("month FLAGGED", "warn", color)
          : "ok";
  return [
    `${paint(h.status, h.status === "ok" ? "good" : "bad", color)}  worker v${h.version}`,
    `d1        ${up(h.d1.reachable, ` (${h.d1.latencyMs}ms)`)}`,
    `executor  ${up(e.reachable, ` (${e.latencyMs}ms${e.version ? `, v${e.version}` : ""}${load})`)}`,
    ...(h.pool
      ? [
          `pool      ${h.pool.executors} executor(s), ${h.pool.fresh} fresh, ${h.pool.draining} draining, ${h.pool.capacity} slots (vault executors)`,
        ]
      : []),
    `breakers  ${brk}`,
    ...readiness(h, color),
  ].join("\n");
}

/** Which profiles can run, and for each that cannot, what to configure. */
function readiness(h: HealthView, color: boolean): string[] {
  const profiles = Object.entries(h.executor.profiles ?? {});
  if (profiles.length === 0) return [];
  return [
    "profiles",
    ...profiles.map(
      ([name, p]) =>
        `  ${name.padEnd(13)} ${p.ready ? paint("ready", "good", color) : paint(`not ready: ${p.missing ?? "?"}`, "bad", color)}`,
    ),
  ];
}
