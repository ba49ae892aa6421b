// The option table machinery shared by both programs: one table per program drives yargs (flags and
// --help), the env names each flag also reads, and the README's flag/env list. Parsing (this file)
// only collects raw strings with their source; validation is a separate pure function per program,
// built from the readers and checks below (the ones both programs share live here, not in either).
import yargs from 'yargs';
import { DeisError } from '../errors.ts';

interface OptionRow {
  /** The flag, kebab-case, without dashes; reuses etcd's name where it means the same. */
  flag: string;
  /**
   * The env name read when the flag is absent, given only where it is not `envName(flag)`: a name
   * Kubernetes sets (downward API, Service links) or one kept for compatibility.
   */
  env?: string;
  /** Former env names, still read when neither the flag nor `env` is set, each with a deprecation warning. */
  deprecatedEnv?: readonly string[];
  describe: string;
  /** A one-letter short flag, as kubectl's (`-n` for --namespace). */
  alias?: string;
  /** The default as --help and the README tell it, where the value alone does not (or none is fixed). */
  defaultText?: string;
}

/**
 * One row of a program's option table. `default` is the typed value validation uses when neither the
 * flag nor its variable is set; it is kept here only, and --help and the README show it.
 */
export type OptionSpec =
  | (OptionRow & { type: 'string'; default?: string })
  | (OptionRow & { type: 'number'; default?: number })
  | (OptionRow & { type: 'boolean'; default?: boolean });

/** The default as --help and the README show it. */
export function defaultShown(s: OptionSpec): string | undefined {
  return s.defaultText ?? (s.default === undefined ? undefined : String(s.default));
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
export async function parseOptions(
  program: string,
  summary: string,
  specs: readonly OptionSpec[],
  argv: string[],
  env: NodeJS.ProcessEnv,
  envPrefixes: readonly string[] = [],
): Promise<ParseResult> {
  const y = yargs(argv)
    .scriptName(program)
    .usage(
      `${program}: ${summary}\n\nEvery flag can also be set by the env variable in its [env: ...]; ` +
        'a flag beats its variable.',
    )
    .help(false)
    .version(false)
    .strict()
    .exitProcess(false)
    .parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': true })
    .wrap(Math.min(110, process.stdout.columns || 110))
    .option('help', { type: 'boolean', describe: 'show this help', alias: 'h' })
    .option('version', { type: 'boolean', describe: 'print the version' })
    .fail((msg, err) => {
      throw new DeisError('config', `${msg ?? err?.message ?? 'invalid arguments'} (see ${program} --help)`, {
        cause: err,
      });
    });
  for (const s of specs) {
    const envNote = ` [env: ${envOf(s)}]`;
    const shown = defaultShown(s);
    y.option(s.flag, {
      type: s.type === 'boolean' ? 'boolean' : 'string',
      describe: s.describe + envNote,
      ...(shown === undefined ? {} : { defaultDescription: shown }),
      requiresArg: s.type !== 'boolean',
      ...(s.alias ? { alias: s.alias } : {}),
    });
  }
  const parsed = (await y.parse()) as Record<string, unknown>;
  if (parsed.help) return { kind: 'help', text: await y.getHelp() };
  if (parsed.version) return { kind: 'version' };
  const positional = (parsed._ as unknown[]) ?? [];
  if (positional.length)
    throw new DeisError('config', `unexpected argument '${String(positional[0])}' (see ${program} --help)`);

  const raw: RawOptions = {};
  const warnings: string[] = [];
  for (const s of specs) {
    const given = parsed[s.flag];
    const current = envOf(s);
    if (given !== undefined) {
      if (Array.isArray(given)) throw new DeisError('config', `--${s.flag} is given more than once`);
      raw[s.flag] = { value: String(given), source: `--${s.flag}` };
    } else {
      for (const name of [current, ...(s.deprecatedEnv ?? [])]) {
        const value = env[name];
        if (value) {
          raw[s.flag] = { value, source: name };
          break;
        }
      }
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
    // Kubernetes service links
    if (/_(SERVICE_HOST|SERVICE_PORT(_.*)?|PORT(_\d+_(TCP|UDP|SCTP)(_.*)?)?)$/.test(name)) continue;
    warnings.push(`unknown environment variable ${name} is ignored`);
  }
  return { kind: 'run', raw, warnings };
}

// Checks both programs share.

/** Markdown rows for the README's flag tables. */
export function markdownTable(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const old = s.deprecatedEnv?.length ? ` (deprecated: ${s.deprecatedEnv.map((e) => `\`${e}\``).join(', ')})` : '';
    const short = s.alias ? ` (\`-${s.alias}\`)` : '';
    return `| \`--${s.flag}\`${short} | \`${envOf(s)}\`${old} | ${defaultShown(s) ?? ''} | ${s.describe} |`;
  });
  return ['| flag | env | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
