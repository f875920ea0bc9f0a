/**
 * Copies Mermaid's browser build (the ESM entry and its chunks, no source maps) from node_modules
 * into public/status/assets/vendor/mermaid/, where Workers Static Assets serve it to the status
 * page's diagram frame: the `mermaid` package served by the Worker itself, never a CDN. The copy is
 * not committed (.gitignore); `npm ci` (prepare), `npm start` and the end-to-end stacks run this, and
 * it is a no-op when the copied version is already the installed one. Plain .mjs so the `prepare`
 * step runs it on any Node.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "node_modules", "mermaid", "dist");
export const MERMAID_DIR = path.join(ROOT, "public", "status", "assets", "vendor", "mermaid");
const CHUNKS = path.join("chunks", "mermaid.esm.min");

/** Ensures the copy matches the installed mermaid; returns its version. */
export function ensureStatusAssets() {
  const { version } = JSON.parse(readFileSync(path.join(DIST, "..", "package.json"), "utf8"));
  const stamp = path.join(MERMAID_DIR, "VERSION");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === version) return version;
  // Built beside the target and renamed into place, so a concurrent start never serves half a copy.
  const tmp = `${MERMAID_DIR}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, CHUNKS), { recursive: true });
  copyFileSync(path.join(DIST, "mermaid.esm.min.mjs"), path.join(tmp, "mermaid.esm.min.mjs"));
  for (const f of readdirSync(path.join(DIST, CHUNKS)))
    if (f.endsWith(".mjs")) copyFileSync(path.join(DIST, CHUNKS, f), path.join(tmp, CHUNKS, f));
  writeFileSync(path.join(tmp, "VERSION"), `${version}\n`);
  rmSync(MERMAID_DIR, { recursive: true, force: true });
  try {
    renameSync(tmp, MERMAID_DIR);
  } catch (err) {
    // Another process renamed its identical copy into place first: keep that one.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(stamp)) throw err;
  }
  return version;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`status page assets: mermaid ${ensureStatusAssets()} in ${path.relative(ROOT, MERMAID_DIR)}`);
}
