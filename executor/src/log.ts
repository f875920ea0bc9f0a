/**
 * One JSON line per event on stdout (journald keeps it): {ts, level, event, jobId?, ...}. Callers
 * never pass secrets, and prompts only at debug; as a second line of defence, fields whose name
 * looks like a credential are replaced by "[redacted]".
 */
export type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = "info";
let sink: (line: string) => void = (line) => process.stdout.write(line);

const SECRET_NAME = /(secret|password|authorization|api_?key|auth_?token|^token)$/i;

export function setLogLevel(level: Level): void {
  threshold = level;
}

/** Tests capture the lines here. */
export function setLogSink(write: (line: string) => void): void {
  sink = write;
}

export const debugEnabled = (): boolean => threshold === "debug";

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_NAME.test(k) ? "[redacted]" : v;
  return out;
}

export function format(level: Level, event: string, fields: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ts: new Date().toISOString(), level, event, ...redact(fields) })}\n`;
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  sink(format(level, event, fields));
}

/** Printed at every level (the "listening" line operators and scripts wait for). */
export function announce(event: string, fields: Record<string, unknown>): void {
  sink(format("info", event, fields));
}
