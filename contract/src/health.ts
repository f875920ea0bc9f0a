import { z } from "zod";
import { AuthMode, CliName } from "./profiles.ts";

/**
 * The executor's open `GET /health`. Objects are not strict: an executor newer than the Worker may
 * add fields, and a health probe must keep parsing. Nothing here is a secret: readiness names the
 * variable to set or the command to run, never a value.
 */

/** One agent CLI as probed at start-up (`--version`, with a short timeout). */
export const CliProbe = z.object({
  found: z.boolean(),
  path: z.string().nullable(),
  version: z.string().nullable(),
});
export type CliProbe = z.infer<typeof CliProbe>;

/**
 * Whether a profile can run now. `missing` (only when not ready) says what to set or run, e.g.
 * "set ANTHROPIC_API_KEY" or "run `codex login --device-auth` …": a job for this profile fails at
 * once with error kind `setup` and this text, without starting a CLI.
 */
export const ProfileReadiness = z.object({
  cli: CliName,
  model: z.string(),
  auth: AuthMode,
  ready: z.boolean(),
  missing: z.string().optional(),
});
export type ProfileReadiness = z.infer<typeof ProfileReadiness>;

/** Bytes on the executor's disk, measured in the background (at most once a minute). */
export const DiskUse = z.object({
  worktreesBytes: z.number().int().nonnegative(),
  homesBytes: z.number().int().nonnegative(),
  /** jobs.sqlite and its WAL. */
  storeBytes: z.number().int().nonnegative(),
  measuredAt: z.string(),
});
export type DiskUse = z.infer<typeof DiskUse>;

export const ExecutorHealth = z.object({
  /** `degraded`: no profile can run (`reason` says why); `draining`: shutting down, new jobs get 503. */
  status: z.enum(["ok", "degraded", "draining"]),
  reason: z.string().optional(),
  version: z.string(),
  uptimeSeconds: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  queued: z.number().int().nonnegative(),
  capacity: z.number().int().nonnegative(),
  maxQueue: z.number().int().nonnegative(),
  /** null until the start-up probe has finished. */
  clis: z.record(CliName, CliProbe).nullable(),
  /** Every profile of the executor's config by name (the ladder's, codex, any others). */
  profiles: z.record(z.string(), ProfileReadiness),
  /** The pair a `consensus` job runs, ready when both are. */
  consensus: z.object({
    profiles: z.tuple([z.string(), z.string()]),
    ready: z.boolean(),
    missing: z.string().optional(),
  }),
  /** The profile a direct run (`executor: <cli>`) uses for each CLI. */
  direct: z.record(CliName, z.string()),
  /** null until the first measurement. */
  disk: DiskUse.nullable(),
  /** AGENT_SANDBOX: `on` (agent CLIs run as separate identities; more detail inside) or `off`, with why. */
  sandbox: z.looseObject({ mode: z.enum(["on", "off"]) }).optional(),
});
export type ExecutorHealth = z.infer<typeof ExecutorHealth>;
