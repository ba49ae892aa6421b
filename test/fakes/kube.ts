// A fake Kubernetes API: the pods of the member selector, StatefulSet replicas and Secrets.
import type { KubeApi, PodInfo } from '../../internal/k8s/client.ts';
import type { DeisError } from '../../internal/errors.ts';
import { FakeEvents } from './events.ts';

export class FakeKube implements KubeApi {
  pods: PodInfo[] = [];
  replicas: number | undefined = 3;
  secrets = new Map<string, string>();
  readonly events = new FakeEvents();
  /** When set, every call fails with it (e.g. a 403). */
  error: DeisError | undefined;

  /** Pods etcd-0..etcd-(n-1) at 127.0.0.1..n, Ready. */
  static withPods(n: number): FakeKube {
    const k = new FakeKube();
    k.pods = Array.from({ length: n }, (_, i) => ({
      name: `etcd-${i}`,
      ip: `127.0.0.${i + 1}`,
      deleting: false,
      ready: true,
    }));
    return k;
  }

  private ok(): void {
    if (this.error) throw this.error;
  }
  async listPods(): Promise<PodInfo[]> {
    this.ok();
    return this.pods.map((p) => ({ ...p }));
  }
  async getPod(name: string): Promise<PodInfo | undefined> {
    this.ok();
    return this.pods.find((p) => p.name === name);
  }
  async statefulSetReplicas(): Promise<number | undefined> {
    this.ok();
    return this.replicas;
  }
  readonly secretData = new Map<string, Record<string, string>>();
  async getOrCreateSecretData(
    name: string,
    _type: string,
    generate: () => Promise<Record<string, string>>,
  ): Promise<Record<string, string>> {
    this.ok();
    if (!this.secretData.has(name)) {
      const data = await generate();
      // a racing start that created it meanwhile wins
      if (!this.secretData.has(name)) this.secretData.set(name, data);
    }
    return this.secretData.get(name)!;
  }
  /** Updates seen by updateSecretData (name per replace). */
  readonly secretUpdates: string[] = [];
  async updateSecretData(
    name: string,
    update: (data: Record<string, string>) => Promise<Record<string, string> | undefined>,
  ): Promise<Record<string, string>> {
    this.ok();
    const cur = this.secretData.get(name);
    if (!cur) throw new Error(`FakeKube: no Secret ${name}`);
    const next = await update({ ...cur });
    if (next) {
      this.secretData.set(name, next);
      this.secretUpdates.push(name);
    }
    return this.secretData.get(name)!;
  }
  async getOrCreateSecret(name: string, key: string, generate: () => string): Promise<string> {
    this.ok();
    const k = `${name}/${key}`;
    if (!this.secrets.has(k)) this.secrets.set(k, generate());
    return this.secrets.get(k)!;
  }
}
