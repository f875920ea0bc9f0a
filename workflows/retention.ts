/**
 * How long the engine keeps a finished ExecuteWorkflow instance (its steps, as the dashboard and
 * `wrangler workflows instances describe` show them), set on each instance at create. The task itself,
 * its stages and transcripts stay in D1 regardless. Both fit the Workers Free plan (3 days at most;
 * Paid allows 30). Local `wrangler dev` ignores the option, so `npm start` prunes with the same figures
 * (scripts/prune-instances.ts). No Workers import here: Node scripts read it too.
 */
const DAY_MS = 24 * 60 * 60_000;

export const INSTANCE_RETENTION = {
  /** A succeeded task's instance: its result is in D1. */
  successRetention: DAY_MS,
  /** A task that ended otherwise: its steps say why, so kept longer. */
  errorRetention: 3 * DAY_MS,
} as const;
