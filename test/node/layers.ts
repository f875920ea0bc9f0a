/**
 * The repository's import rules (docs/CONTRIBUTING.md, "Layers"), as data plus a checker. Source code
 * may import only from its own layer and the layers below it; each workspace package imports only
 * the packages its package.json declares; and no module reaches itself through its imports (an
 * import circle), type-only imports included: a circle is a design knot even when erased at run time.
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
/** The file a workspace package's bare name resolves to (its package.json `exports`). */
const WORKSPACE_ENTRIES: Readonly<Record<string, string>> = { "@vault-mcp/contract": "contract/src/index.ts" };

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

/** The repo file an import of `file` resolves to, among `files`; null for packages and builtins. */
function resolveImport(file: string, spec: string, files: ReadonlySet<string>): string | null {
  const entry = WORKSPACE_ENTRIES[packageName(spec)];
  if (entry) return files.has(entry) ? entry : null;
  if (!spec.startsWith(".")) return null;
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  return [target, `${target}.ts`, `${target}/index.ts`].find((t) => files.has(t)) ?? null;
}

/**
 * Every import circle among `sources` (repo-relative path → source text), each as the path that
 * closes it (`a.ts → b.ts → a.ts`). One circle per strongly connected component (Tarjan's algorithm),
 * so a knot of many files is reported once.
 */
export function findCircles(sources: ReadonlyMap<string, string>): string[][] {
  const files = new Set(sources.keys());
  const graph = new Map<string, string[]>();
  for (const [file, source] of sources) {
    const targets = importsOf(source).map((spec) => resolveImport(file, spec, files));
    graph.set(file, [...new Set(targets.filter((t): t is string => t !== null))]);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) ?? 0);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.includes(v)) components.push(component);
  };
  for (const file of [...files].sort()) if (!index.has(file)) visit(file);
  return components.map((c) => circleThrough(graph, new Set(c))).sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? ""));
}

/** The shortest path from the component's first file (by name) back to itself. */
function circleThrough(graph: ReadonlyMap<string, readonly string[]>, component: ReadonlySet<string>): string[] {
  const start = [...component].sort()[0] ?? "";
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i] ?? "";
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const back = [v];
        for (let u = v; u !== start; u = cameFrom.get(u) ?? start) back.push(cameFrom.get(u) ?? start);
        return [...back.reverse(), start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
