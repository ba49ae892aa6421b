// Network partitions between pods of the test world: nftables rules on the host's output hook drop
// every packet between one pod address and a set of others (all loopback: the pods' 127.x addresses).
// Needs root and the `nft` command (Debian's nftables; `make tools` installs it where it can); where
// either is missing, `partitionSupport()` says why and callers skip the fault with that notice.
// Every table this module creates is named deis_world_<tag> and removed on heal, and again by
// `clearPartitions(tag)` when a world starts and stops, so a crashed run leaves no rule behind.
import { execFileSync } from 'node:child_process';

/** Why partitions cannot be made here, or undefined when they can. */
export function partitionSupport(): string | undefined {
  if (process.getuid?.() !== 0) return 'partitions need root (nftables rules on the loopback traffic)';
  try {
    execFileSync('nft', ['list', 'tables'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    return e.code === 'ENOENT'
      ? 'the nft command is missing (apt-get install nftables)'
      : `nft cannot list tables: ${String(e.stderr ?? e.message).trim()}`;
  }
}

const ipv4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function nft(script: string): void {
  execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** Removes the partition tables of this tag (all of them, whatever their number). */
export function clearPartitions(tag: string): void {
  let tables: string;
  try {
    tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return; // no nft here: nothing was made
  }
  for (const line of tables.split('\n')) {
    const name = /^table inet (deis_world_\w+)$/.exec(line.trim())?.[1];
    if (name && (name === `deis_world_${tag}` || name.startsWith(`deis_world_${tag}_`))) {
      nft(`delete table inet ${name}\n`);
    }
  }
}

let made = 0;

/**
 * Cuts `ip` off from `others` (both directions, every port) and returns the function that heals the
 * partition. Only loopback addresses are accepted: the test world never touches other traffic.
 */
export function partition(tag: string, ip: string, others: string[]): () => void {
  for (const a of [ip, ...others]) {
    if (!ipv4.test(a)) throw new Error(`partition: ${a} is not a loopback IPv4 address`);
  }
  if (!others.length) return () => undefined;
  const table = `deis_world_${tag}_${++made}`;
  const set = others.join(', ');
  nft(
    `table inet ${table} {\n` +
      '  chain out {\n' +
      '    type filter hook output priority 0; policy accept;\n' +
      `    ip saddr ${ip} ip daddr { ${set} } drop\n` +
      `    ip saddr { ${set} } ip daddr ${ip} drop\n` +
      '  }\n' +
      '}\n',
  );
  let healed = false;
  return () => {
    if (healed) return;
    healed = true;
    nft(`delete table inet ${table}\n`);
  };
}
