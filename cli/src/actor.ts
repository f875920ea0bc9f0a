/** Who a decision is recorded as: the CLI and the local user, so the decisions table says who acted. */
import os from "node:os";

export function actor(env: NodeJS.ProcessEnv): string {
  let user = env.USER ?? env.USERNAME;
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      // No passwd entry (some containers): the CLI alone still says where the decision came from.
    }
  }
  return (user ? `vault-cli:${user}` : "vault-cli").slice(0, 100);
}
