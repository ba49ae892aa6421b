// A logger that keeps its entries in memory, for assertions on what was logged.
import { createLogger, type Fields, type Logger } from '../../internal/log/log.ts';

export function memoryLogger(): Logger & { entries: Fields[]; messages(): string[] } {
  const entries: Fields[] = [];
  const log = createLogger({ level: 'debug', write: (line) => entries.push(JSON.parse(line) as Fields) });
  return Object.assign(log, { entries, messages: () => entries.map((e) => String(e.msg)) });
}
