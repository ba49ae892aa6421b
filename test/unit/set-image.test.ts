// build/kube/set-image.ts: `kustomize edit set image` for the copy of an overlay that deploy applies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setImage, splitImage } from '../../build/kube/set-image.ts';

const splits = [
  {
    name: 'registry with a port',
    input: 'reg.example:5000/deis/etcd:v1',
    want: { newName: 'reg.example:5000/deis/etcd', newTag: 'v1' },
  },
  { name: 'no registry', input: 'deis/etcd:git-abc', want: { newName: 'deis/etcd', newTag: 'git-abc' } },
  {
    name: 'no tag (port only)',
    input: 'reg:5000/deis/etcd',
    want: { newName: 'reg:5000/deis/etcd', newTag: undefined },
  },
];
for (const row of splits) {
  test(`splitImage: ${row.name}`, () => assert.equal(splitImage(row.input), row.want));
}

const overlay = `# dev
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: other/image
    newTag: "1"
  - name: deis/etcd
    newName: registry.example:5000/deis/etcd
    newTag: dev
patches:
  - target: { kind: StatefulSet, name: deis-etcd }
`;

test('setImage rewrites only the named entry and keeps the rest byte for byte', () => {
  const out = setImage(overlay, 'deis/etcd', 'r.example:5000/me/etcd:v2');
  assert.is(
    out,
    overlay.replace(
      'newName: registry.example:5000/deis/etcd\n    newTag: dev',
      'newName: r.example:5000/me/etcd\n    newTag: v2',
    ),
  );
});

test('setImage adds newName/newTag to an entry that has neither', () => {
  const out = setImage('images:\n  - name: deis/etcd\nresources: []\n', 'deis/etcd', 'r/deis/etcd:v3');
  assert.is(out, 'images:\n  - name: deis/etcd\n    newName: r/deis/etcd\n    newTag: v3\nresources: []\n');
});

test('setImage refuses a kustomization without that image', () => {
  assert.throws(() => setImage(overlay, 'deis/other', 'x:1'), /no images entry named deis\/other/);
  assert.throws(() => setImage('resources: []\n', 'deis/etcd', 'x:1'), /no top-level images/);
});

test.run();
