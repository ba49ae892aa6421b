// The Makefile's packaging contract, read through `make -n` (nothing runs): the image name, the order
// of `make all`, and a clear one-line refusal when DEV_REGISTRY is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function make(...args: string[]): { code: number; out: string; err: string } {
  const env = { ...process.env };
  for (const k of ['DEV_REGISTRY', 'IMAGE_PREFIX', 'VERSION', 'MAKEFLAGS', 'MAKELEVEL']) delete env[k];
  const r = spawnSync('make', ['--no-print-directory', '-C', root, ...args], { encoding: 'utf8', env });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const sha = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();

test('make info prints the image: DEV_REGISTRY/IMAGE_PREFIX/etcd:VERSION, VERSION git-<short sha> by default', () => {
  const r = make('info', 'DEV_REGISTRY=registry.example:5000');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, `image: registry.example:5000/deis/etcd:git-${sha}\n`);
  const custom = make('info', 'DEV_REGISTRY=r.example', 'IMAGE_PREFIX=me', 'VERSION=v1.2.3');
  assert.match(custom.out, 'image: r.example/me/etcd:v1.2.3\n');
});

test('make info without DEV_REGISTRY says that push and deploy need it', () => {
  const r = make('info');
  assert.is(r.code, 0);
  assert.match(r.out, /DEV_REGISTRY is not set/);
});

const image = 'registry.example:5000/deis/etcd:v9';

test('make -n all: bundle, docker build, docker push, then apply the dev overlay with the image, in that order', () => {
  const r = make('-n', 'all', 'DEV_REGISTRY=registry.example:5000', 'VERSION=v9');
  assert.is(r.code, 0, r.err);
  const steps = [
    /build\/bundle\.ts/,
    new RegExp(`DOCKER=docker build/image/build\\.sh ${image} \\S*`),
    new RegExp(`docker push ${image}`),
    new RegExp(
      `build/kube/set-image\\.ts \\.local/deploy/kustomize/overlays/dev/kustomization\\.yaml deis/etcd=${image}`,
    ),
    /kubectl apply -k \.local\/deploy\/kustomize\/overlays\/dev/,
  ];
  let from = 0;
  for (const step of steps) {
    const at = r.out.slice(from).search(step);
    assert.ok(at >= 0, `${step} after offset ${from} in:\n${r.out}`);
    from += at;
  }
});

for (const target of ['docker-build', 'docker-push', 'deploy']) {
  test(`make ${target} without DEV_REGISTRY fails with one clear line`, () => {
    const r = make(target);
    assert.is.not(r.code, 0);
    const line = r.err.split('\n').find((l) => l.startsWith('error:'));
    assert.ok(line, r.err);
    assert.match(line!, `DEV_REGISTRY is not set: make ${target} DEV_REGISTRY=host:port`);
    assert.not.match(r.out, /docker|kubectl/);
  });
}

test('make -n bin builds the single executable with the project Node', () => {
  const r = make('-n', 'bin');
  assert.match(r.out, /node_modules\/\.bin\/node build\/sea\.ts/);
});

test('make -n kube-delete and kube-service use the dev overlay', () => {
  assert.match(make('-n', 'kube-delete').out, 'kubectl delete -k kustomize/overlays/dev --ignore-not-found');
  assert.match(make('-n', 'kube-service').out, 'kubectl kustomize kustomize/overlays/dev');
});

test.run();
