/**
 * The repository's import rules (docs/CONTRIBUTING.md, "Layers"), as data plus a checker. Source code
 * may import only from its own layer and the layers below it; each workspace package imports only
 * the packages its package.json declares.
 */
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import ts from "typescript";

/** Layer → the layers it may import from (itself included). Bottom first. */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  contract: ["contract"],
  core: ["contract", "core"],
  schema: ["contract", "core", "schema"],
  workflows: ["contract", "core", "schema", "workflows"],
  worker: ["contract", "core", "schema", "workflows", "worker"],
  cli: ["contract", "cli"],
  executor: ["contract", "executor"],
};

/** Source folders and their layer. Tests, scripts and benchmarks are not layers: they may use any. */
const SOURCE_ROOTS: readonly [prefix: string, layer: string][] = [
  ["contract/src/", "contract"],
  ["core/", "core"],
  ["schema/", "schema"],
  ["workflows/", "workflows"],
  ["worker/", "worker"],
  ["cli/src/", "cli"],
  ["cli/bin/", "cli"],
  ["executor/src/", "executor"],
];

/** Workspace packages whose package.json must declare every bare package their sources import. */
export const PACKAGES: readonly [prefix: string, manifest: string][] = [
  ["contract/src/", "contract/package.json"],
  ["cli/", "cli/package.json"],
  ["executor/src/", "executor/package.json"],
];

const WORKSPACE_PACKAGES: Readonly<Record<string, string>> = { "@vault-mcp/contract": "contract" };

export function layerOf(file: string): string | null {
  return SOURCE_ROOTS.find(([prefix]) => file.startsWith(prefix))?.[1] ?? null;
}

/** Every module specifier a file imports or re-exports, dynamic imports included. */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** `@scope/name/sub` → `@scope/name`; `zod/v4` → `zod`. */
function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? spec);
}

const isBuiltin = (spec: string) =>
  spec.startsWith("node:") || builtinModules.includes(spec) || spec.startsWith("cloudflare:");

export interface Violation {
  file: string;
  spec: string;
  why: string;
}

/**
 * Checks one file (repo-relative path) against the rules. `declared` maps a package manifest to the
 * packages it declares.
 */
export function checkFile(
  file: string,
  source: string,
  declared: (manifest: string, withDev: boolean) => Set<string>,
): Violation[] {
  const layer = layerOf(file);
  const pkg = PACKAGES.find(([prefix]) => file.startsWith(prefix));
  const out: Violation[] = [];
  for (const spec of importsOf(source)) {
    if (spec.startsWith(".")) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      const targetLayer = layerOf(target);
      const top = (p: string) => p.split("/")[0];
      // The repository's package.json is where the version is written: the Worker reports it.
      if (layer && !targetLayer && top(target) !== top(file) && target !== "package.json") {
        out.push({ file, spec, why: `${layer} code imports ${target}, which is outside every layer` });
      } else if (layer && targetLayer && !LAYERS[layer]?.includes(targetLayer)) {
        out.push({ file, spec, why: `${layer} may not import ${targetLayer} (allowed: ${LAYERS[layer]?.join(", ")})` });
      }
      continue;
    }
    if (isBuiltin(spec)) continue;
    const name = packageName(spec);
    const workspace = WORKSPACE_PACKAGES[name];
    if (layer && workspace && !LAYERS[layer]?.includes(workspace)) {
      out.push({ file, spec, why: `${layer} may not import ${workspace}` });
    }
    // Tests may use devDependencies; shipped code only what it depends on.
    if (pkg && !declared(pkg[1], file.includes("/test/")).has(name)) {
      out.push({ file, spec, why: `${pkg[1]} does not declare '${name}'` });
    }
  }
  return out;
}

export function readDeclared(root: string): (manifest: string, withDev: boolean) => Set<string> {
  return (manifest, withDev) => {
    const json = JSON.parse(readFileSync(path.join(root, manifest), "utf8")) as Record<string, unknown>;
    const fields = withDev
      ? ["dependencies", "peerDependencies", "devDependencies"]
      : ["dependencies", "peerDependencies"];
    return new Set(fields.flatMap((k) => Object.keys((json[k] as Record<string, string> | undefined) ?? {})));
  };
}
