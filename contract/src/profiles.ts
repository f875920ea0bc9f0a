import { z } from "zod";

/** The coding-agent CLIs the executor knows how to drive. */
export const CliName = z.enum(["claude", "codex", "gemini"]);
export type CliName = z.infer<typeof CliName>;

/**
 * Named rungs of the escalation ladder. Each maps, in the executor's config, to a CLI, a model and an
 * environment; `consensus` runs two profiles side by side.
 */
export const ProfileName = z.enum(["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus"]);
export type ProfileName = z.infer<typeof ProfileName>;

/** How much of a run the compressed result shows. `mermaid` is the default: a small flowchart. */
export const Verbosity = z.enum(["summary", "mermaid", "standard", "full"]);
export type Verbosity = z.infer<typeof Verbosity>;

export const ErrorKind = z.enum([
  "auth",
  "rate_limit",
  "api",
  "timeout",
  "crash",
  "bad_output",
  "budget",
  "interrupted",
]);
export type ErrorKind = z.infer<typeof ErrorKind>;
