// The option table machinery shared by both programs: one table per program drives yargs (flags and
// --help), the env names each flag also reads, and the README's flag/env list. Parsing (this file)
// only collects raw strings with their source; validation is a separate pure function per program,
// built from the readers and checks below (the ones both programs share live here, not in either).
import yargs from 'yargs';
import { DeisError } from '../errors.ts';
import { isIp } from '../net.ts';

export interface OptionSpec {
  /** The flag, kebab-case, without dashes; reuses etcd's name where it means the same. */
  flag: string;
  /**
   * The env name read when the flag is absent, given only where it is not `envName(flag)`: a name
   * Kubernetes sets (downward API, Service links) or one kept for compatibility.
   */
  env?: string;
  /** Former env names, still read when neither the flag nor `env` is set, each with a deprecation warning. */
  deprecatedEnv?: readonly string[];
  type: 'string' | 'number' | 'boolean';
  describe: string;
  /** Shown in --help; the real default is applied by validation. */
  default?: string;
}

/** The prefix of our own env names; unknown variables with it are warned about. */
export const ENV_PREFIX = 'DEIS_ETCD_';

/** The one naming rule: flag `client-port` is also read from DEIS_ETCD_CLIENT_PORT. */
export function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replaceAll('-', '_');
}

/** The env name a flag reads: its exception if the table names one, else the rule's. */
export function envOf(s: OptionSpec): string {
  return s.env ?? envName(s.flag);
}

/** Raw values by flag name: what the operator gave, as strings, and where each came from. */
export type RawOptions = Record<string, { value: string; source: string } | undefined>;

export type ParseResult =
  | { kind: 'run'; raw: RawOptions; warnings: string[] }
  | { kind: 'help'; text: string }
  | { kind: 'version' };

/**
 * Parses argv against the table (strict: an unknown flag is a config error) and fills in absent
 * flags from env: the flag's own name, else a deprecated one (warned about, naming the new one).
 * `envPrefixes` are the prefixes that belong to us: an unknown variable with one of them is
 * reported as a warning (as etcd does for ETCD_*), except Kubernetes' service variables.
 */
export async function parseOptions(program: string, summary: string, specs: readonly OptionSpec[], argv: string[], env: NodeJS.ProcessEnv, envPrefixes: readonly string[] = []): Promise<ParseResult> {
  const y = yargs(argv)
    .scriptName(program)
    .usage(`${program}: ${summary}\n\nEvery flag can also be set by the env variable in its [env: ...]; `
      + 'a flag beats its variable.')
    .help(false)
    .version(false)
    .strict()
    .exitProcess(false)
    .parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': true })
    .wrap(Math.min(110, process.stdout.columns || 110))
    .option('help', { type: 'boolean', describe: 'show this help', alias: 'h' })
    .option('version', { type: 'boolean', describe: 'print the version' })
    .fail((msg, err) => {
      throw new DeisError('config', `${msg ?? err?.message ?? 'invalid arguments'} (see ${program} --help)`, { cause: err });
    });
  for (const s of specs) {
    const envNote = ` [env: ${envOf(s)}]`;
    y.option(s.flag, {
      type: s.type === 'boolean' ? 'boolean' : 'string',
      describe: s.describe + envNote,
      ...(s.default === undefined ? {} : { defaultDescription: s.default }),
      requiresArg: s.type !== 'boolean',
    });
  }
  const parsed = (await y.parse()) as Record<string, unknown>;
  if (parsed.help) return { kind: 'help', text: await y.getHelp() };
  if (parsed.version) return { kind: 'version' };
  const positional = (parsed._ as unknown[]) ?? [];
  if (positional.length) throw new DeisError('config', `unexpected argument '${String(positional[0])}' (see ${program} --help)`);

  const raw: RawOptions = {};
  const warnings: string[] = [];
  for (const s of specs) {
    const given = parsed[s.flag];
    const current = envOf(s);
    if (given !== undefined) {
      if (Array.isArray(given)) throw new DeisError('config', `--${s.flag} is given more than once`);
      raw[s.flag] = { value: String(given), source: `--${s.flag}` };
    } else {
      const name = [current, ...(s.deprecatedEnv ?? [])].find((e) => env[e] !== undefined && env[e] !== '');
      if (name) raw[s.flag] = { value: env[name]!, source: name };
    }
    for (const old of s.deprecatedEnv ?? []) {
      if (env[old] === undefined) continue;
      const winner = raw[s.flag]?.source;
      const ignored = winner && winner !== old ? ` (ignored: ${winner} is set)` : '';
      warnings.push(`deprecated: ${old}, use ${current}${ignored}`);
    }
  }
  const known = new Set(specs.flatMap((s) => [envOf(s), ...(s.deprecatedEnv ?? [])]));
  for (const name of Object.keys(env).sort()) {
    if (!envPrefixes.some((p) => name.startsWith(p)) || known.has(name)) continue;
    if (/_(SERVICE_HOST|SERVICE_PORT(_.*)?|PORT(_\d+_(TCP|UDP|SCTP)(_.*)?)?)$/.test(name)) continue; // Kubernetes service links
    warnings.push(`unknown environment variable ${name} is ignored`);
  }
  return { kind: 'run', raw, warnings };
}

/** Collects validation problems so that all of them are reported at once. */
export class Problems {
  readonly list: string[] = [];
  add(msg: string): void { this.list.push(msg); }
  /** Throws one config error naming every problem, if there are any. */
  check(program: string): void {
    if (this.list.length) {
      throw new DeisError('config', `${this.list.join('; ')} (see ${program} --help)`);
    }
  }
}

export function str(raw: RawOptions, flag: string, dflt: string): string {
  return raw[flag]?.value.trim() ?? dflt;
}

export function optStr(raw: RawOptions, flag: string): string | undefined {
  const v = raw[flag]?.value.trim();
  return v === '' ? undefined : v;
}

export function int(raw: RawOptions, flag: string, dflt: number, p: Problems, min: number, max: number): number {
  const r = raw[flag];
  if (!r) return dflt;
  const v = r.value.trim();
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    p.add(`${r.source} must be an integer from ${min} to ${max}, not '${r.value}'`);
    return dflt;
  }
  return Number(v);
}

export function bool(raw: RawOptions, flag: string, dflt: boolean, p: Problems): boolean {
  const r = raw[flag];
  if (!r) return dflt;
  const v = r.value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  p.add(`${r.source} must be true or false, not '${r.value}'`);
  return dflt;
}

export function oneOf<T extends string>(raw: RawOptions, flag: string, dflt: T, allowed: readonly T[], p: Problems): T {
  const r = raw[flag];
  if (!r) return dflt;
  const v = r.value.trim() as T;
  if (!allowed.includes(v)) {
    p.add(`${r.source} must be one of ${allowed.join(', ')}, not '${r.value}'`);
    return dflt;
  }
  return v;
}

// Checks both programs share.

/** Where the discovery token Secret is mounted, in both programs' pods. */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/deis/etcd/discovery/token';

/** A DNS name: dot-separated lowercase labels (a pod, a Service, a cluster domain). */
export const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** An http(s) URL; `source` names where the value came from (a flag or env variable). */
export function checkUrl(v: string, source: string, p: Problems): void {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') p.add(`${source} must be an http(s) URL, not '${v}'`);
  } catch {
    p.add(`${source} must be a URL like http://10.0.0.5:2381, not '${v}'`);
  }
}

/** An optional IP address (an advertise or listen host). */
export function checkHost(raw: RawOptions, flag: string, p: Problems): string | undefined {
  const v = optStr(raw, flag);
  if (v !== undefined && !isIp(v)) p.add(`${raw[flag]!.source} must be an IP address, not '${v}'`);
  return v;
}

/** The cluster size, 1 to 9 members, odd unless an even size is allowed. */
export function checkClusterSize(raw: RawOptions, p: Problems, allowEven: boolean): number {
  const size = int(raw, 'cluster-size', 3, p, 1, 9);
  if (size % 2 === 0 && !allowEven && raw['cluster-size']) {
    p.add(`${raw['cluster-size'].source}=${size} is even: an even cluster tolerates no more failures than ${size - 1} members; use an odd size or --allow-even-size`);
  }
  return size;
}

/** Markdown rows for the README's flag tables. */
export function markdownTable(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const old = s.deprecatedEnv?.length ? ` (deprecated: ${s.deprecatedEnv.map((e) => `\`${e}\``).join(', ')})` : '';
    return `| \`--${s.flag}\` | \`${envOf(s)}\`${old} | ${s.default ?? ''} | ${s.describe} |`;
  });
  return ['| flag | env | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
