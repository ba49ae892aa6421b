// Structured logs: one JSON object per line on stdout (or a short text form for people), constant
// lowercase messages, values in camelCase fields. The discovery token never reaches a log line:
// fields named like secrets are redacted whatever their value.
import { describe } from '../errors.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `bindings` to every entry. */
  child(bindings: Fields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  format?: 'json' | 'text';
  write?: (line: string) => void;
  now?: () => Date;
  bindings?: Fields;
}

const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secret = /^(token|discoveryToken|password|secret|credentials?)$/i;

function serialize(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code === undefined ? { message: describe(value) } : { message: describe(value), code };
  }
  return value;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = rank[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const now = opts.now ?? (() => new Date());
  const format = opts.format ?? 'json';
  const make = (bindings: Fields): Logger => {
    const emit = (level: Level, msg: string, fields: Fields = {}) => {
      if (rank[level] < min) return;
      const entry: Fields = { time: now().toISOString(), level, msg };
      for (const [k, v] of Object.entries({ ...bindings, ...fields })) {
        if (v === undefined) continue;
        entry[k] = secret.test(k) ? '[redacted]' : serialize(v);
      }
      if (format === 'json') {
        write(`${JSON.stringify(entry)}\n`);
      } else {
        const { time, level: l, msg: m, ...rest } = entry;
        const kv = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        write(`${time} ${String(l).toUpperCase().padEnd(5)} ${m}${kv ? ` ${kv}` : ''}\n`);
      }
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make(opts.bindings ?? {});
}
