// The container runtime of the image tests and the node agent's container mode: podman (or docker)
// with this project's settings (build/image/containers.conf: runc, cgroupfs, ulimits at the host's
// level; storage.conf: vfs), the image built by build/image/build.sh, and the flags every run needs
// here: host network (each container binds its own 127.x address, as a pod does), no registry pulls.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

/** The engine: $DOCKER, else podman, else docker; undefined when neither is installed. */
export function containerEngine(): string | undefined {
  const candidates = process.env.DOCKER ? [process.env.DOCKER] : ['podman', 'docker'];
  for (const c of candidates) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore', env: engineEnv() });
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The environment podman reads this project's settings from (CONTAINERS_CONF, ..._STORAGE_CONF). */
export function engineEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    CONTAINERS_CONF: base.CONTAINERS_CONF ?? join(root, 'build/image/containers.conf'),
    CONTAINERS_STORAGE_CONF: base.CONTAINERS_STORAGE_CONF ?? join(root, 'build/image/storage.conf'),
  };
}

/** The image the tests run: $DEIS_ETCD_TEST_IMAGE, else this checkout built as localhost/deis/etcd:test. */
export const testImage = () => process.env.DEIS_ETCD_TEST_IMAGE ?? 'localhost/deis/etcd:test';

/** The version baked into the test image (one value, so that the image and e2e tests share its layers). */
export const TEST_IMAGE_VERSION = 'image-test-1.0.0';

/**
 * Flags of every `run`: host network, ulimits within the host's (podman's defaults exceed them and
 * runc's setrlimit fails; containers.conf sets them too, docker needs them here), never pull.
 */
export function runFlags(): string[] {
  return ['--network', 'host', '--pull', 'never', '--ulimit', 'nofile=1024:4096', '--ulimit', 'nproc=4096:4096'];
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the engine with args; never rejects (the exit code is in the result). */
export function engine(engineName: string, args: string[], timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(engineName, args, { env: engineEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Builds this checkout's image (build/image/build.sh: cached layers and stand-ins make a rebuild quick). */
export function buildImage(engineName: string, image: string, version: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      join(root, 'build/image/build.sh'),
      [image, version],
      { env: engineEnv({ ...process.env, DOCKER: engineName }), timeout: 900_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
