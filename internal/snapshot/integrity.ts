// The integrity check of a snapshot file, before it is kept or restored: etcd's snapshot stream is the
// database file followed by the sha256 of that file (32 bytes; `etcdctl snapshot save` writes the same),
// and a bbolt file is a whole number of pages. etcdutl's `snapshot status` reads neither (a truncated
// or altered file passes it), and `etcdutl snapshot restore` creates the data dir before it checks.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DeisError } from '../errors.ts';

const HASH_BYTES = 32;
const PAGE = 512;

/** Reads the file once; throws an 'environment' error naming what is wrong. Returns its size. */
export async function verifySnapshotFile(path: string): Promise<number> {
  const hash = createHash('sha256');
  let tail = Buffer.alloc(0);
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      const buf = Buffer.concat([tail, chunk as Buffer]);
      size += (chunk as Buffer).length;
      // everything but the last 32 bytes seen so far is database content
      hash.update(buf.subarray(0, Math.max(0, buf.length - HASH_BYTES)));
      tail = buf.subarray(Math.max(0, buf.length - HASH_BYTES));
    }
  } catch (err) {
    throw new DeisError('environment', `cannot read snapshot ${path}: ${(err as Error).message}`, { cause: err });
  }
  const bad = (why: string) =>
    new DeisError('environment', `snapshot ${path} is not usable: ${why}; take a new snapshot or pick another one`);
  if (size < PAGE + HASH_BYTES) throw bad(`only ${size} bytes`);
  if ((size - HASH_BYTES) % PAGE !== 0) throw bad(`${size} bytes is no whole database plus its hash (truncated?)`);
  if (!hash.digest().equals(tail)) throw bad('its sha256 does not match (corrupted or truncated)');
  return size;
}
