/** codex 0.169.0 for real: see real-suite.ts. */
import { describeRealCli, tableCost } from "./real-suite.ts";

const turn = { input: 900, output: 34, cacheRead: 300, cacheWrite: 0 };
describeRealCli("codex", {
  turn,
  // 900 × $1.25 + 34 × $10 + 300 × $0.125 per million.
  turnCost: tableCost("gpt-5.5", turn),
  costSource: "computed",
  keyVar: "CODEX_API_KEY",
  // codex retries an unreachable API forever, even with retries off: only our timeout ends it.
  down: { kind: "timeout", timeoutMs: 4_000 },
});
