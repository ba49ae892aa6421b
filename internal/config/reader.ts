// Reading validated values out of the raw options: a typed reader whose defaults come from the
// option table, and the collector that reports every problem at once.
import { DeisError } from '../errors.ts';
import type { OptionSpec, RawOptions } from './options.ts';

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
