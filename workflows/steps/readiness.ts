/** What the executor can run now, read from its open /health before each choice of rung. */
import { type ExecutorHealth, ProfileName } from "@vault-mcp/contract";
import type { ExecutorClient } from "../executor-client.ts";
import type { Readiness } from "../ladder.ts";

/** Keeps only what the choice needs: small, so the step's stored output stays tiny. */
function readinessFrom(health: ExecutorHealth): Readiness {
  const missing: Readiness["missing"] = {};
  for (const [name, p] of Object.entries(health.profiles)) {
    const profile = ProfileName.safeParse(name);
    if (profile.success && !p.ready) missing[profile.data] = p.missing ?? `${name} is not ready on the executor`;
  }
  if (!health.consensus.ready)
    missing.consensus = health.consensus.missing ?? `consensus needs ${health.consensus.profiles.join(" and ")}`;
  const direct: Readiness["direct"] = {};
  for (const [cli, name] of Object.entries(health.direct)) {
    const profile = ProfileName.safeParse(name);
    if (profile.success) direct[cli] = profile.data;
  }
  return { missing, direct };
}

export async function readReadiness(client: ExecutorClient): Promise<Readiness> {
  return readinessFrom(await client.getHealth());
}
