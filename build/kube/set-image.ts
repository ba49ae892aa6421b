// `make deploy`'s image setter: what `kustomize edit set image deis/etcd=<image>` does, for a copy of
// an overlay, without needing the standalone kustomize binary (kubectl has no `kustomize edit`).
// It edits only the `images:` entry named <name>, keeping the rest of the file byte for byte.
//
// Usage: node build/kube/set-image.ts <kustomization.yaml> <name>=<registry/repo:tag>
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** 'reg:5000/deis/etcd:v1' -> { newName: 'reg:5000/deis/etcd', newTag: 'v1' } (a port is not a tag). */
export function splitImage(image: string): { newName: string; newTag: string | undefined } {
  const at = image.lastIndexOf(':');
  if (at > image.lastIndexOf('/')) return { newName: image.slice(0, at), newTag: image.slice(at + 1) };
  return { newName: image, newTag: undefined };
}

const indentOf = (line: string) => line.length - line.trimStart().length;

/** Sets newName/newTag of the images entry `name` in a kustomization's text; throws if there is none. */
export function setImage(text: string, name: string, image: string): string {
  const { newName, newTag } = splitImage(image);
  const lines = text.split('\n');
  const imagesAt = lines.findIndex((l) => /^images:\s*$/.test(l));
  if (imagesAt < 0) throw new Error('set-image: the kustomization has no top-level images: list');
  let item = -1;
  for (
    let i = imagesAt + 1;
    i < lines.length && (lines[i]!.trim() === '' || indentOf(lines[i]!) > 0 || lines[i]!.startsWith('-'));
    i++
  ) {
    if (
      new RegExp(`^\\s*-\\s+name:\\s*["']?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*$`).test(lines[i]!)
    ) {
      item = i;
      break;
    }
  }
  if (item < 0) throw new Error(`set-image: no images entry named ${name}`);
  const fieldIndent = ' '.repeat(lines[item]!.indexOf('name:'));
  // the entry's own lines: deeper than its dash, up to the next entry or the end of the list
  let end = item + 1;
  while (
    end < lines.length &&
    lines[end]!.trim() !== '' &&
    indentOf(lines[end]!) >= fieldIndent.length &&
    !/^\s*-/.test(lines[end]!)
  )
    end++;
  const body = lines.slice(item + 1, end).filter((l) => !/^\s*(newName|newTag|digest):/.test(l));
  body.unshift(`${fieldIndent}newName: ${newName}`);
  if (newTag !== undefined) body.push(`${fieldIndent}newTag: ${newTag}`);
  return [...lines.slice(0, item + 1), ...body, ...lines.slice(end)].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, spec] = process.argv.slice(2);
  const eq = spec?.indexOf('=') ?? -1;
  if (!file || !spec || eq < 1) {
    process.stderr.write('usage: node build/kube/set-image.ts <kustomization.yaml> <name>=<image>\n');
    process.exit(2);
  }
  writeFileSync(file, setImage(readFileSync(file, 'utf8'), spec.slice(0, eq), spec.slice(eq + 1)));
}
