// Trims an esbuild source map (v3) to the project's own sources, so that a stack trace can name
// internal/... files without the cost of mapping the dependencies: a bundle's full map has ~1500
// sources and parsing it (node:module SourceMap) takes ~100 MiB; ours are ~60 of them.
// Each dropped run of dependency code keeps one segment without a source, so a position inside a
// dependency maps to nothing rather than to the project code before it on the same generated line.
// No sourcesContent: the runtime needs file, line, column and name only.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export interface RawSourceMap {
  version: number;
  sources: string[];
  names: string[];
  mappings: string;
  sourcesContent?: (string | null)[];
  sourceRoot?: string;
  file?: string;
}

/** Base64 VLQ: one segment's fields, each relative to the previous segment's. */
function decodeSegment(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = B64_INDEX.get(c);
    if (digit === undefined) throw new Error(`source map: bad base64 character '${c}'`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

function encodeValue(n: number): string {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = '';
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v) digit |= 32;
    out += B64[digit];
  } while (v);
  return out;
}

/** The map with only the segments whose source passes `keep`, its sources and names compacted. */
export function trimSourceMap(map: RawSourceMap, keep: (source: string) => boolean): RawSourceMap {
  const sources: string[] = [];
  const sourceIndex = new Map<number, number>();
  const names: string[] = [];
  const nameIndex = new Map<number, number>();
  const indexOf = (old: number, from: string[], to: string[], seen: Map<number, number>) => {
    let i = seen.get(old);
    if (i === undefined) {
      i = to.push(from[old]!) - 1;
      seen.set(old, i);
    }
    return i;
  };
  // absolute state of the input, and of the output's last written segment
  let src = 0;
  let line = 0;
  let col = 0;
  let name = 0;
  let outSrc = 0;
  let outLine = 0;
  let outCol = 0;
  let outName = 0;
  const lines = map.mappings.split(';').map((generatedLine) => {
    let genCol = 0;
    let outGenCol = 0;
    let inDependency = false;
    const kept: string[] = [];
    for (const segment of generatedLine.split(',')) {
      if (!segment) continue;
      const f = decodeSegment(segment);
      genCol += f[0]!;
      if (f.length < 4) {
        continue;
      }
      src += f[1]!;
      line += f[2]!;
      col += f[3]!;
      if (f.length >= 5) name += f[4]!;
      if (!keep(map.sources[src]!)) {
        if (!inDependency) kept.push(encodeValue(genCol - outGenCol));
        if (!inDependency) outGenCol = genCol;
        inDependency = true;
        continue;
      }
      inDependency = false;
      const s = indexOf(src, map.sources, sources, sourceIndex);
      let text = encodeValue(genCol - outGenCol) + encodeValue(s - outSrc) + encodeValue(line - outLine);
      text += encodeValue(col - outCol);
      if (f.length >= 5) {
        const n = indexOf(name, map.names, names, nameIndex);
        text += encodeValue(n - outName);
        outName = n;
      }
      kept.push(text);
      outGenCol = genCol;
      outSrc = s;
      outLine = line;
      outCol = col;
    }
    return kept.join(',');
  });
  return { version: 3, sources, names, mappings: lines.join(';') };
}

/** The project's own sources: not under node_modules, not esbuild's generated entries. */
export const ownSource = (source: string): boolean => !/(^|\/)node_modules\//.test(source) && /\.ts$/.test(source);
