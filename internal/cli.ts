// What both programs' entry points share: parse the options, answer --help/--version, build the
// logger, turn SIGTERM/SIGINT into an abort signal, run, and map an error to one log line and an exit
// code. The error is logged here, once, at the top.
import { networkInterfaces } from 'node:os';
import { parseOptions, type OptionSpec, type RawOptions } from './config/options.ts';
import { describe, DeisError, exitCodeFor } from './errors.ts';
import { createLogger, type Level } from './log/log.ts';
import { realClock } from './clock.ts';
import { nodeFiles } from './files.ts';
import { httpGet } from './http-request.ts';
import type { Runtime } from './runtime.ts';
import { VERSION } from './version.ts';

export interface Program<C> {
  name: 'boot' | 'discovery' | 'snapshot';
  summary: string;
  options: readonly OptionSpec[];
  validate: (raw: RawOptions, env: NodeJS.ProcessEnv) => C & { logLevel: Level; logFormat: 'json' | 'text' };
  run: (cfg: C, rt: Runtime) => Promise<number>;
}

export async function runProgram<C>(p: Program<C>, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let log = createLogger({ bindings: { program: p.name } });
  try {
    const parsed = await parseOptions(p.name, p.summary, p.options, argv, env, ['DEIS_ETCD_']);
    if (parsed.kind === 'help') {
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`${p.name} ${VERSION}\n`);
      return 0;
    }
    const cfg = p.validate(parsed.raw, env);
    log = createLogger({ level: cfg.logLevel, format: cfg.logFormat, bindings: { program: p.name, version: VERSION } });
    for (const w of parsed.warnings) log.warn('config warning', { detail: w });
    const abort = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      log.info('signal received', { signal: sig });
      abort.abort();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const rt: Runtime = {
        log,
        clock: realClock,
        env,
        interfaces: networkInterfaces(),
        signal: abort.signal,
        fetch: httpGet,
        files: nodeFiles,
      };
      return await p.run(cfg, rt);
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  } catch (err) {
    const code = exitCodeFor(err);
    log.error('exiting on error', {
      err: describe(err),
      code: err instanceof DeisError ? err.code : 'internal',
      exitCode: code,
    });
    if (!(err instanceof DeisError)) process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    return code;
  }
}
