// An in-memory file tree implementing Files: paths are plain keys; a directory exists when a file
// lies under it or it was created.
import type { Files } from '../../internal/files.ts';
import { DeisError } from '../../internal/errors.ts';

export function memoryFiles(
  init: Record<string, string> = {},
): Files & { tree: Map<string, string>; dirs: Set<string> } {
  const tree = new Map(Object.entries(init));
  const dirs = new Set<string>();
  const under = (dir: string) => [...tree.keys()].filter((k) => k.startsWith(`${dir}/`));
  return {
    tree,
    dirs,
    read: async (path) => tree.get(path),
    write: async (path, text) => {
      tree.set(path, text);
    },
    writeSet: async (dir, entries) => {
      for (const [name, text] of Object.entries(entries)) tree.set(`${dir}/${name}`, text);
    },
    async rename(from, to) {
      const moved = under(from);
      if (!moved.length && !tree.has(from)) throw new Error(`ENOENT: ${from}`);
      if (tree.has(from)) {
        tree.set(to, tree.get(from)!);
        tree.delete(from);
      }
      for (const k of moved) {
        tree.set(to + k.slice(from.length), tree.get(k)!);
        tree.delete(k);
      }
    },
    async list(dir) {
      const names = under(dir).map((k) => k.slice(dir.length + 1).split('/')[0]!);
      return names.length || dirs.has(dir) ? [...new Set(names)] : undefined;
    },
    async ensureWritableDir(dir, flag) {
      if (tree.has(dir)) throw new DeisError('environment', `${flag} ${dir} exists but is not a directory`);
      dirs.add(dir);
    },
  };
}
