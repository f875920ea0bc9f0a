/** gemini 0.61.0 for real: see real-suite.ts. Output includes the 7 thought tokens (billed as output). */
import { describeRealCli, tableCost } from "./real-suite.ts";

const turn = { input: 900, output: 41, cacheRead: 300, cacheWrite: 0 };
describeRealCli("gemini", {
  turn,
  // 900 × $0.30 + 41 × $2.50 + 300 × $0.075 per million.
  turnCost: tableCost("gemini-2.5-flash", turn),
  costSource: "computed",
  keyVar: "GEMINI_API_KEY",
  down: { kind: "api", timeoutMs: 30_000 },
});
