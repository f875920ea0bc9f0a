/**
 * A source module bundled by esbuild with the options `npm run build -w executor` uses for
 * dist/server.js, then imported: for code whose source text runs on its own (`node -e`), which must
 * work as bundled too.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export async function importBundled<T>(entry: string, outDir: string): Promise<T> {
  const outfile = path.join(outDir, `${path.basename(entry, ".ts")}.bundled.mjs`);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile,
    logLevel: "silent",
  });
  return (await import(pathToFileURL(outfile).href)) as T;
}
