// The discovery token: where it comes from (mounted Secret file, env, or generated and stored in the
// Secret through the Kubernetes API) and what a valid one looks like. It is a path element of every
// registry key, so anything that could escape or confuse a key path is refused.
import { randomBytes } from 'node:crypto';
import { DeisError } from '../errors.ts';

const valid = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Trims whitespace and checks the characters; a config error names the source. */
export function checkToken(raw: string, source: string): string {
  const token = raw.trim();
  if (!token)
    throw new DeisError(
      'config',
      `the discovery token from ${source} is empty: put a token in it or remove it so one is generated`,
    );
  if (!valid.test(token)) {
    throw new DeisError(
      'config',
      `the discovery token from ${source} may hold only letters, digits, '.', '_' and '-' ` +
        '(at most 128, starting with a letter or digit)',
    );
  }
  return token;
}

/** 32 hex characters from the system's CSPRNG. */
export function generateToken(): string {
  return randomBytes(16).toString('hex');
}

export interface TokenSources {
  /** Reads the token file; undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Gets or creates the token Secret (create-if-absent); undefined when there is no Kubernetes API. */
  secret?: (name: string, generate: () => string) => Promise<string>;
}

/**
 * The token, in order: env value, mounted file, the Kubernetes Secret (created with a fresh random
 * token if absent, so two racing starts agree). A clear error when none is available.
 */
export async function resolveToken(
  cfg: { token?: string; tokenFile: string; tokenSecret: string },
  src: TokenSources,
): Promise<{ token: string; source: string }> {
  if (cfg.token !== undefined) return { token: checkToken(cfg.token, 'DEIS_ETCD_DISCOVERY_TOKEN'), source: 'env' };
  const fromFile = await src.readFile(cfg.tokenFile);
  if (fromFile !== undefined) return { token: checkToken(fromFile, cfg.tokenFile), source: 'file' };
  if (!src.secret) {
    throw new DeisError(
      'environment',
      `no discovery token: ${cfg.tokenFile} does not exist and there is no Kubernetes API to create the ` +
        `${cfg.tokenSecret} Secret; mount the Secret there, set --token-file, or set DEIS_ETCD_DISCOVERY_TOKEN`,
    );
  }
  const token = await src.secret(cfg.tokenSecret, generateToken);
  return { token: checkToken(token, `Secret ${cfg.tokenSecret}`), source: 'secret' };
}
