// Every overlay renders with the real kubectl's kustomize, and keeps the base's promises: the cluster
// size set once (replicas == both programs' DEIS_ETCD_CLUSTER_SIZE), no token in any manifest,
// hardened pods, the least-privilege Role. (kubectl apply --dry-run=server runs in the e2e suite.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { loadAllYaml } from '@kubernetes/client-node';
import { kubeTool } from '../world/tools.ts';

const root = new URL('../..', import.meta.url).pathname;
// biome-ignore lint/suspicious/noExplicitAny: rendered YAML of any shape, read by path in the assertions
type Obj = Record<string, any>;

function render(overlay: string, dir = `${root}/kustomize/overlays/${overlay}`): Obj[] {
  const yaml = execFileSync(kubeTool('kubectl'), ['kustomize', dir], {
    encoding: 'utf8',
  });
  return JSON.parse(JSON.stringify(loadAllYaml(yaml))) as Obj[]; // plain data: no undefined fields
}
const find = (objs: Obj[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name)!;
const env = (c: Obj, name: string) => (c.env as Obj[]).find((e) => e.name === name)?.value as string | undefined;

const overlays: { name: string; replicas: number; imagePrefix: string }[] = [
  { name: 'dev', replicas: 3, imagePrefix: 'registry.example:5000/deis/etcd:' },
  { name: 'insecure-registry', replicas: 3, imagePrefix: 'insecure-registry.example:5000/deis/etcd:' },
  { name: 'production', replicas: 5, imagePrefix: 'deis/etcd:' },
  { name: 'local', replicas: 3, imagePrefix: 'deis/etcd:' },
  { name: 'local-secure', replicas: 3, imagePrefix: 'deis/etcd:' },
];

for (const o of overlays) {
  test(`${o.name}: renders; size set once; hardened; no token in manifests`, () => {
    const objs = render(o.name);
    const sts = find(objs, 'StatefulSet', 'deis-etcd');
    const dep = find(objs, 'Deployment', 'deis-etcd-discovery');
    assert.is(sts.spec.replicas, o.replicas);
    const boot = sts.spec.template.spec.containers[0];
    const disc = dep.spec.template.spec.containers[0];
    assert.is(env(boot, 'DEIS_ETCD_CLUSTER_SIZE'), String(o.replicas));
    assert.is(env(disc, 'DEIS_ETCD_CLUSTER_SIZE'), String(o.replicas));
    assert.equal([boot.command, disc.command], [['/bin/boot'], ['/bin/discovery']]);
    for (const c of [boot, disc]) {
      assert.ok(c.image.startsWith(o.imagePrefix), c.image);
      assert.equal(c.securityContext, {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
    for (const pod of [sts.spec.template.spec, dep.spec.template.spec]) {
      assert.is(pod.securityContext.runAsNonRoot, true);
      assert.is(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.is(pod.serviceAccountName, 'deis-etcd');
    }
    assert.not.ok(
      objs.some((x) => x.kind === 'Secret'),
      'no Secret (so no token) in the manifests',
    );
    const peers = find(objs, 'Service', 'deis-etcd-peers');
    assert.equal([peers.spec.clusterIP, peers.spec.publishNotReadyAddresses], ['None', true]);
    assert.equal(find(objs, 'Service', 'deis-etcd-discovery').spec.ports[0].port, 2381);
    assert.equal(find(objs, 'PodDisruptionBudget', 'deis-etcd').spec.maxUnavailable, 1);
    assert.is(sts.spec.podManagementPolicy, 'Parallel');
  });
}

test('production: persistent volumes, anti-affinity, topology spread, priority class', () => {
  const objs = render('production');
  const sts = find(objs, 'StatefulSet', 'deis-etcd');
  assert.is(sts.spec.volumeClaimTemplates[0].metadata.name, 'data');
  assert.not.ok(
    (sts.spec.template.spec.volumes as Obj[]).some((v) => v.name === 'data'),
    'data comes from the claim template',
  );
  assert.ok(sts.spec.template.spec.affinity.podAntiAffinity);
  assert.ok(sts.spec.template.spec.topologySpreadConstraints.length);
  assert.is(sts.spec.template.spec.priorityClassName, 'deis-etcd');
  assert.is(
    find(objs, 'Deployment', 'deis-etcd-discovery').spec.template.spec.volumes.find((v: Obj) => v.name === 'data')
      .persistentVolumeClaim.claimName,
    'deis-etcd-discovery',
  );
});

test('the Role grants exactly the calls boot and discovery make', () => {
  const role = find(render('dev'), 'Role', 'deis-etcd');
  const rules = (role.rules as Obj[])
    .map(
      (r) =>
        `${r.apiGroups.join(',') || 'core'}/${r.resources.join(',')}${r.resourceNames ? `[${r.resourceNames}]` : ''}: ${r.verbs.join(',')}`,
    )
    .sort();
  assert.equal(rules, [
    'apps/statefulsets: get',
    'core/pods: get,list',
    'core/secrets: create',
    'core/secrets[deis-etcd-discovery-token]: get',
    'events.k8s.io/events: create,patch',
  ]);
});

const containerOf = (objs: Obj[], kind: string, name: string) => find(objs, kind, name).spec.template.spec;

test("local-secure: every namespaced object is in deis-etcd, the components' own ones too", () => {
  const cluster = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass']);
  const off = render('local-secure')
    .filter((o) => !cluster.has(o.kind) && o.metadata.namespace !== 'deis-etcd')
    .map((o) => `${o.kind}/${o.metadata.name}`);
  assert.equal(off, [], 'the auth ConfigMap once landed in the default namespace: no application user');
});

for (const overlay of ['local-secure', 'production']) {
  test(`${overlay}: auth component included`, () => {
    const member = containerOf(render(overlay), 'StatefulSet', 'deis-etcd');
    assert.is(env(member.containers[0], 'DEIS_ETCD_AUTH'), 'true');
  });
  test(`${overlay}: the TLS component turns TLS on in both programs, mounts the CA, keys in memory, RBAC to read the Secrets`, () => {
    const objs = render(overlay);
    const member = containerOf(objs, 'StatefulSet', 'deis-etcd');
    const disc = containerOf(objs, 'Deployment', 'deis-etcd-discovery');
    for (const pod of [member, disc]) {
      assert.is(env(pod.containers[0], 'DEIS_ETCD_TLS'), 'true');
      const tls = (pod.volumes as Obj[]).find((v) => v.name === 'tls')!;
      assert.equal(tls.emptyDir.medium, 'Memory', 'certificates and keys never reach a disk');
      assert.ok(
        (pod.containers[0].volumeMounts as Obj[]).some(
          (m) => m.name === 'tls' && m.mountPath === '/var/run/deis/etcd/tls',
        ),
      );
    }
    const ca = (member.volumes as Obj[]).find((v) => v.name === 'ca')!;
    assert.is(ca.secret.secretName, 'deis-etcd-ca');
    assert.not.ok(ca.secret.optional, 'members wait for the CA');
    assert.ok(
      (member.containers[0].volumeMounts as Obj[]).some(
        (m) => m.name === 'ca' && m.mountPath === '/var/run/secrets/deis/etcd/ca' && m.readOnly,
      ),
    );
    const role = find(objs, 'Role', 'deis-etcd');
    assert.ok(
      (role.rules as Obj[]).some(
        (r) => r.resourceNames?.join() === 'deis-etcd-ca,deis-etcd-client-tls' && r.verbs.join() === 'get',
      ),
    );
    assert.ok(
      (role.rules as Obj[]).some(
        (r) => r.resourceNames?.join() === 'deis-etcd-client-tls' && r.verbs.join() === 'update',
      ),
      'discovery renews the client Secret in place',
    );
  });
}

test('cert-manager component: the CA and client Certificates make the Secrets the programs read; discovery only reads them', () => {
  // rendered, not applied: the test world has no cert-manager CRDs
  const objs = render('cert-manager', `${root}/test/integration/overlays/cert-manager`);
  const ca = find(objs, 'Certificate', 'deis-etcd-ca');
  assert.equal(
    [ca.spec.isCA, ca.spec.secretName, ca.spec.issuerRef.name],
    [true, 'deis-etcd-ca', 'deis-etcd-selfsigned'],
  );
  assert.ok(find(objs, 'Issuer', 'deis-etcd-selfsigned').spec.selfSigned);
  assert.is(find(objs, 'Issuer', 'deis-etcd-ca').spec.ca.secretName, 'deis-etcd-ca');
  const client = find(objs, 'Certificate', 'deis-etcd-client-tls');
  assert.equal([client.spec.secretName, client.spec.issuerRef.name], ['deis-etcd-client-tls', 'deis-etcd-ca']);
  assert.ok(client.spec.usages.includes('client auth'));
  const disc = containerOf(objs, 'Deployment', 'deis-etcd-discovery').containers[0];
  assert.is(env(disc, 'DEIS_ETCD_CREATE_TLS_SECRETS'), 'false');
  assert.is(env(disc, 'DEIS_ETCD_TLS'), 'true');
  for (const o of objs.filter((x) => x.kind === 'Certificate' || x.kind === 'Issuer'))
    assert.is(o.metadata.namespace, 'deis-etcd');
});

test('local-secure (and production) include the auth component: both programs with --auth, members mount the passwords and the app user ConfigMap, RBAC to read the Secrets', () => {
  const objs = render('local-secure');
  const member = containerOf(objs, 'StatefulSet', 'deis-etcd');
  const disc = containerOf(objs, 'Deployment', 'deis-etcd-discovery');
  for (const pod of [member, disc]) assert.is(env(pod.containers[0], 'DEIS_ETCD_AUTH'), 'true');
  const vol = (name: string) => (member.volumes as Obj[]).find((v) => v.name === name)!;
  assert.equal(
    [vol('root-password').secret.secretName, vol('root-password').secret.optional],
    ['deis-etcd-root', undefined],
  );
  assert.is(vol('app-password').secret.secretName, 'deis-etcd-app');
  assert.is(vol('app-user').configMap.name, 'deis-etcd-app');
  const mounts = Object.fromEntries((member.containers[0].volumeMounts as Obj[]).map((m) => [m.name, m.mountPath]));
  assert.equal(
    [mounts['root-password'], mounts['app-password'], mounts['app-user']],
    ['/var/run/secrets/deis/etcd/root', '/var/run/secrets/deis/etcd/app', '/etc/deis/etcd/app'],
  );
  assert.equal(find(objs, 'ConfigMap', 'deis-etcd-app').data, { user: 'app', prefix: '/app/' });
  assert.ok(
    (find(objs, 'Role', 'deis-etcd').rules as Obj[]).some(
      (r) => r.resourceNames?.join() === 'deis-etcd-root,deis-etcd-app' && r.verbs.join() === 'get',
    ),
  );
  assert.not.ok(
    objs.some((x) => x.kind === 'Secret'),
    'no password in the manifests',
  );
});

test('backup component (production): the snapshot CronJob uploads with the bucket settings and credentials, over TLS as root; the members read the same settings', () => {
  const objs = render('production');
  const cron = find(objs, 'CronJob', 'deis-etcd-snapshot');
  const sts = find(objs, 'StatefulSet', 'deis-etcd');
  assert.ok(cron, 'the CronJob is in the production overlay');
  assert.is(cron.spec.schedule, '17 */6 * * *');
  assert.is(cron.spec.concurrencyPolicy, 'Forbid');
  const pod = cron.spec.jobTemplate.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(c.command, ['/bin/snapshot']);
  assert.is(c.image, sts.spec.template.spec.containers[0].image, "the members' image");
  assert.is(pod.restartPolicy, 'Never');
  assert.is(pod.securityContext.runAsNonRoot, true);
  assert.is(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.envFrom, [
    { configMapRef: { name: 'deis-etcd-backup' } },
    { secretRef: { name: 'deis-etcd-backup-credentials' } },
  ]);
  assert.is(env(c, 'DEIS_ETCD_CLIENT_TLS_DIR'), '/var/run/secrets/deis/etcd/client');
  assert.ok((pod.volumes as Obj[]).some((v) => v.secret?.secretName === 'deis-etcd-client-tls'));
  // authentication is on in production: the snapshot calls go as root, with the Secret discovery makes
  const rootFile = env(c, 'DEIS_ETCD_ROOT_PASSWORD_FILE');
  const rootVolume = (pod.volumes as Obj[]).find((v) => v.secret?.secretName === 'deis-etcd-root');
  assert.ok(rootVolume, "root's password Secret is a volume of the Job");
  const mount = (c.volumeMounts as Obj[]).find((m) => m.name === rootVolume.name);
  assert.is(rootFile, `${mount?.mountPath}/password`);
  const settings = find(objs, 'ConfigMap', 'deis-etcd-backup').data as Record<string, string>;
  assert.ok(
    Object.keys(settings).every((k) => k.startsWith('DEIS_ETCD_S3_')),
    'only keys boot accepts too',
  );
  assert.equal(sts.spec.template.spec.containers[0].envFrom, [
    { configMapRef: { name: 'deis-etcd-backup' } },
    { secretRef: { name: 'deis-etcd-backup-credentials', optional: true } },
  ]);
});

test('local and dev stay plain http (TLS is a component, off by default)', () => {
  for (const o of ['local', 'dev']) {
    const member = containerOf(render(o), 'StatefulSet', 'deis-etcd');
    assert.is(env(member.containers[0], 'DEIS_ETCD_TLS'), undefined);
  }
});

test.run();
