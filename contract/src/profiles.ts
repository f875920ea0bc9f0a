import { z } from "zod";

/** The coding-agent CLIs the executor knows how to drive. */
export const CliName = z.enum(["claude", "codex", "gemini"]);
export type CliName = z.infer<typeof CliName>;

/**
 * Named profiles: the rungs of the escalation ladder, and `codex` (the profile of direct codex runs
 * and consensus' second side). Each maps, in the executor's config, to a CLI, a model, how it
 * authenticates and an environment; `consensus` runs two profiles side by side.
 */
export const ProfileName = z.enum(["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "codex", "consensus"]);
export type ProfileName = z.infer<typeof ProfileName>;

/** How much of a run the compressed result shows. `mermaid` is the default: a small flowchart. */
export const Verbosity = z.enum(["summary", "mermaid", "standard", "full"]);
export type Verbosity = z.infer<typeof Verbosity>;

/**
 * How a profile's CLI authenticates: an API key from the executor's environment, or a subscription
 * login (claude: CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`; codex and gemini: a login made
 * once with the CLI's own login command, kept in the executor's login home).
 */
export const AuthMode = z.enum(["api_key", "subscription"]);
export type AuthMode = z.infer<typeof AuthMode>;

/**
 * Why a run failed. `setup` is the executor's side, never the model's: the CLI is not installed
 * (spawn ENOENT), a credential or login is missing, or the CLI refused its configuration; nothing
 * reached a model, so it says nothing about the profile. `auth` is a credential the provider refused.
 * `budget` is a run stopped at its spending limit. `turns` is a run that used all its turns without
 * finishing: the model's failure (a task climbs on), unlike `budget`, where the same profile would
 * finish with more money.
 */
export const ErrorKind = z.enum([
  "setup",
  "auth",
  "rate_limit",
  "api",
  "timeout",
  "crash",
  "bad_output",
  "budget",
  "interrupted",
  "turns",
]);
export type ErrorKind = z.infer<typeof ErrorKind>;
