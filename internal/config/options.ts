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

/** Collects validation problems so that all of them are reported at once. */
export class Problems {
  readonly list: string[] = [];
  add(msg: string): void {
    this.list.push(msg);
  }
  /** Throws one config error naming every problem, if there are any. */
  check(program: string): void {
    if (this.list.length) {
      throw new DeisError('config', `${this.list.join('; ')} (see ${program} --help)`);
    }
  }
}

/** The value each option type holds. */
interface ValueOf {
  string: string;
  number: number;
  boolean: boolean;
}

/**
 * Reads one program's raw values against its table: the value given, checked, else the row's typed
 * default. A bad value is added to the problems naming its source, and the default stands in for it.
 * Flags are typed by the table (declared `as const`), so reading a flag that is not in it does not
 * compile; reading a default the row lacks throws, which validating `{}` in the unit tests shows.
 */
export class OptionReader<S extends OptionSpec> {
  readonly #rows: ReadonlyMap<string, OptionSpec>;
  readonly #raw: RawOptions;
  readonly #p: Problems;

  constructor(specs: readonly S[], raw: RawOptions, p: Problems) {
    this.#rows = new Map(specs.map((s) => [s.flag, s]));
    this.#raw = raw;
    this.#p = p;
  }

  /** Where the value came from (the flag or the variable that set it), for problem messages. */
  source(flag: S['flag']): string {
    return this.#raw[flag]?.source ?? `--${flag}`;
  }

  str(flag: S['flag']): string {
    return this.#raw[flag]?.value.trim() ?? this.#default(flag, 'string');
  }

  /** A string without a default: undefined when absent or empty. */
  optStr(flag: S['flag']): string | undefined {
    if (this.#rows.get(flag)?.type !== 'string') throw new Error(`option table: --${flag} is no string option`);
    const v = this.#raw[flag]?.value.trim();
    return v === '' ? undefined : v;
  }

  int(flag: S['flag'], min: number, max: number): number {
    const r = this.#raw[flag];
    const dflt = this.#default(flag, 'number');
    if (!r) return dflt;
    const v = r.value.trim();
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.#p.add(`${r.source} must be an integer from ${min} to ${max}, not '${r.value}'`);
      return dflt;
    }
    return Number(v);
  }

  bool(flag: S['flag']): boolean {
    const r = this.#raw[flag];
    const dflt = this.#default(flag, 'boolean');
    if (!r) return dflt;
    const v = r.value.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    this.#p.add(`${r.source} must be true or false, not '${r.value}'`);
    return dflt;
  }

  oneOf<T extends string>(flag: S['flag'], allowed: readonly T[]): T {
    const r = this.#raw[flag];
    const dflt = this.#default(flag, 'string') as T;
    if (!allowed.includes(dflt))
      throw new Error(`option table: --${flag} defaults to '${dflt}', not one of ${allowed.join(', ')}`);
    if (!r) return dflt;
    const v = r.value.trim() as T;
    if (!allowed.includes(v)) {
      this.#p.add(`${r.source} must be one of ${allowed.join(', ')}, not '${r.value}'`);
      return dflt;
    }
    return v;
  }

  /** The row's typed default; a row without one is a bug in the table, not in the input. */
  #default<T extends keyof ValueOf>(flag: string, type: T): ValueOf[T] {
    const row = this.#rows.get(flag);
    if (row?.type !== type || row.default === undefined)
      throw new Error(`option table: --${flag} has no ${type} default`);
    return row.default as ValueOf[T];
  }
}

// Checks both programs share.

/** Markdown rows for the README's flag tables. */
export function markdownTable(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const old = s.deprecatedEnv?.length ? ` (deprecated: ${s.deprecatedEnv.map((e) => `\`${e}\``).join(', ')})` : '';
    return `| \`--${s.flag}\` | \`${envOf(s)}\`${old} | ${defaultShown(s) ?? ''} | ${s.describe} |`;
  });
  return ['| flag | env | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
