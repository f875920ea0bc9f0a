/** Where the pinned agent CLIs are once `npm test` has installed them (null when missing). */
import { existsSync } from "node:fs";
import path from "node:path";

const nm = path.join(import.meta.dirname, "node_modules");
const found = (p: string) => (existsSync(p) ? p : null);

export const cliPaths = {
  /** The native (Bun-compiled) binary the npm bin links to. */
  claude: found(path.join(nm, ".bin", "claude")),
  /** codex's native binary, run directly: its node wrapper can orphan it on SIGKILL. */
  codex: found(path.join(nm, "@openai", "codex-linux-x64", "vendor", "x86_64-unknown-linux-musl", "bin", "codex")),
  gemini: found(path.join(nm, ".bin", "gemini")),
};
