// The Dockerfile's contract, read as text (no Docker engine needed): a Node 24 build stage, etcd from
// the official image at the pinned version, a distroless cc final stage without a shell, non-root,
// /bin/boot as the entrypoint with /bin/discovery beside it, the etcd ports, and a .dockerignore that
// keeps everything the build copies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const text = readFileSync(join(root, 'Dockerfile'), 'utf8');

interface Instruction {
  op: string;
  args: string;
  stage: number;
}
/** Instructions with continuation lines joined; stage -1 is before the first FROM. */
function parse(src: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const joined = src
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const line of joined) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!, stage });
  }
  return out;
}
const ins = parse(text);
const args = Object.fromEntries(
  ins
    .filter((i) => i.op === 'ARG' && i.stage === -1)
    .map((i) => {
      const [k, v] = i.args.split('=');
      return [k!, v ?? ''];
    }),
);
const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? `\${${k}}`);
const froms = ins.filter((i) => i.op === 'FROM').map((i) => expand(i.args));
const last = froms.length - 1;
const final = ins.filter((i) => i.stage === last);

function pinned(name: string): string {
  const m = new RegExp(`^${name}=(\\S+)`, 'm').exec(readFileSync(join(root, 'build/tools/versions.env'), 'utf8'));
  return m![1]!;
}

test('base images and versions are build arguments with pinned defaults', () => {
  for (const k of ['NODE_IMAGE', 'ETCD_IMAGE', 'ETCD_VERSION', 'BASE_IMAGE'])
    assert.ok(args[k], `ARG ${k} has a default`);
  assert.is(args.ETCD_VERSION, pinned('ETCD_36_VERSION'), 'the etcd the tests run');
  assert.match(args.ETCD_IMAGE!, /^(gcr\.io\/etcd-development\/etcd|quay\.io\/coreos\/etcd)$/);
  const node = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
  ).devDependencies.node;
  assert.match(
    args.NODE_IMAGE!,
    new RegExp(`^node:${node!.replace(/\./g, '\\.')}-`),
    'the build image runs the pinned Node',
  );
  for (const f of froms) assert.not.match(f, /:latest\b|^[^:]+$/, `${f} is pinned`);
});

test('stages: etcd from the official image, a Node build stage, a distroless cc nonroot final stage', () => {
  assert.ok(froms.length >= 3, froms.join(' | '));
  assert.ok(
    froms.some((f) => /^(gcr\.io\/etcd-development\/etcd|quay\.io\/coreos\/etcd):v3\.6\.\d+ AS etcd$/i.test(f)),
    froms.join(' | '),
  );
  assert.ok(
    froms.some((f) => /^node:24[.\d]*-\S+ AS build$/i.test(f)),
    froms.join(' | '),
  );
  assert.is(froms[last], 'gcr.io/distroless/cc-debian12:nonroot');
});

test('the final stage has no shell step: only COPY, and the etcd binaries come from the etcd image', () => {
  assert.is(final.filter((i) => i.op === 'RUN').length, 0, 'distroless has no shell');
  assert.ok(final.some((i) => i.op === 'COPY' && /--from=build\b/.test(i.args)));
  const etcdCopy = ins.find((i) => i.op === 'COPY' && /--from=etcd\b/.test(i.args));
  assert.ok(
    etcdCopy && /\/etcd\b/.test(etcdCopy.args) && /\/etcdutl\b/.test(etcdCopy.args) && !/etcdctl/.test(etcdCopy.args),
    'etcd and etcdutl (the snapshot checks and restores) copied; etcdctl left out (17 MB, the size limit)',
  );
  assert.match(
    text,
    /cp -P dist\/bin\/deis-etcd dist\/bin\/boot dist\/bin\/discovery dist\/bin\/snapshot dist\/bin\/kubectl-deis_etcd \/out\/bin\//,
    'one executable; boot, discovery, snapshot and the kubectl plugin as links',
  );
});

test('runs as non-root, entrypoint /bin/boot, exposes 2379 2380 2381', () => {
  const user = final.filter((i) => i.op === 'USER').pop()?.args;
  assert.ok(user, 'USER set in the final stage');
  assert.not.match(user!, /^(0|root)(:|$)/);
  assert.match(user!, /^(65532(:65532)?|nonroot(:nonroot)?)$/);
  assert.equal(JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')!.args), ['/bin/boot']);
  const ports = final.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  for (const p of ['2379', '2380', '2381']) assert.ok(ports.includes(p), `EXPOSE ${p}`);
});

test('.dockerignore keeps every source the build stage copies and drops the rest', () => {
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.is(ignore[0], '*', 'allow-list: everything else stays out (node_modules, .git, dist)');
  const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  const sources = ins
    .filter((i) => i.op === 'COPY' && !i.args.includes('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  for (const s of sources) {
    const path = s.replace(/\/$/, '');
    assert.ok(
      allowed.some((a) => path === a || path.startsWith(`${a}/`)),
      `${s} is copied but ignored`,
    );
  }
  const buildScripts = [...text.matchAll(/(build\/[\w/-]+\.ts)/g)].map((m) => m[1]!);
  for (const s of buildScripts) assert.ok(allowed.includes(s) && existsSync(join(root, s)), `${s} is in the context`);
  // what those scripts import from the repository is copied too (a missing one fails only the image build)
  const copied = (path: string) => sources.some((s) => path === s.replace(/\/$/, '') || path.startsWith(s));
  for (const script of buildScripts) {
    const imports = [
      ...readFileSync(join(root, script), 'utf8').matchAll(/^import [^;]*?from '(\.{1,2}\/[^']+)';$/gms),
    ];
    for (const [, spec] of imports) {
      const path = relative(root, join(root, dirname(script), spec!));
      assert.ok(copied(path), `${script} imports ${path}, which the build stage does not copy`);
    }
  }
});

test.run();
