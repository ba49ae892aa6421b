// Stack traces of a bundle or of the single executable name the project's source files
// (internal/cli.ts:57:13) instead of positions in one minified file. Node's own
// --enable-source-maps cannot do it here: it applies only to scripts compiled after it is on (not to
// the bundle that turns it on) and not to a single executable's main, and it would parse the whole
// map (~100 MiB for the dependencies). So the build writes a map trimmed to our own sources
// (build/source-map.ts) beside the bundle (<bundle>.map) or into the executable (a SEA asset), and
// this hook reads and parses it only when a stack is first formatted. Frames outside our sources,
// and every frame where no map is found, stay as V8 writes them.
import type { SourceMap } from 'node:module';

/** The SEA asset that holds the executable's map (build/sea.ts writes it). */
export const SEA_MAP_ASSET = 'deis-etcd.cjs.map';

interface CallSiteLike {
  getFileName(): string | undefined | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  toString(): string;
}

/** The map text: the executable's asset, else the file beside the script; undefined when neither. */
function readMap(script: string): string | undefined {
  const sea = process.getBuiltinModule?.('node:sea') as typeof import('node:sea') | undefined;
  try {
    if (sea?.isSea()) return sea.getAsset(SEA_MAP_ASSET, 'utf8');
  } catch {
    return undefined;
  }
  const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
  try {
    return fs.readFileSync(`${script}.map`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The name V8 gives the script this code was bundled into (a path, or the SEA main's name). */
function ownScript(): string | undefined {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, sites: CallSiteLike[]) => sites[0]?.getFileName() ?? undefined;
    return new Error().stack as unknown as string | undefined;
  } finally {
    Error.prepareStackTrace = saved;
  }
}

/**
 * Installs the mapping for the script this module is bundled into. A no-op when run from source
 * (the frames already name .ts files) or under --enable-source-maps (Node maps them itself).
 */
export function installStackMapping(): void {
  const script = ownScript();
  if (!script || script.endsWith('.ts') || process.sourceMapsEnabled) return;
  let map: SourceMap | null | undefined;
  const load = (): SourceMap | null => {
    if (map !== undefined) return map;
    map = null;
    const text = readMap(script);
    const mod = process.getBuiltinModule('node:module') as typeof import('node:module');
    if (text && mod.SourceMap) {
      try {
        map = new mod.SourceMap(JSON.parse(text) as ConstructorParameters<typeof mod.SourceMap>[0]);
      } catch {
        map = null;
      }
    }
    return map;
  };
  Error.prepareStackTrace = (err: Error, sites: CallSiteLike[]) => {
    let head: string;
    try {
      head = String(err);
    } catch {
      head = 'Error';
    }
    const frames = sites.map((site) => {
      const text = String(site);
      const line = site.getLineNumber();
      const col = site.getColumnNumber();
      if (site.getFileName() !== script || line === null || col === null) return text;
      // the segment's own position (findOrigin would add the generated column's offset into it)
      const e = load()?.findEntry(line - 1, col - 1);
      if (!e || !('originalSource' in e) || !e.originalSource) return text;
      return text.replace(
        `${script}:${line}:${col}`,
        `${e.originalSource}:${e.originalLine + 1}:${e.originalColumn + 1}`,
      );
    });
    return [head, ...frames.map((f) => `    at ${f}`)].join('\n');
  };
}
