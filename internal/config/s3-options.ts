// The object store settings, the same rows in the snapshot program's table (where it uploads) and in
// boot's (where --restore-from finds its snapshot), so that one ConfigMap and one Secret serve both.
// Credentials are not options: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)
// come from the credentials Secret, as every S3 tool reads them, and are never logged.
import { checkUrl } from './checks.ts';
import type { OptionSpec } from './options.ts';
import type { OptionReader, Problems } from './reader.ts';

export const s3Options = [
  {
    flag: 's3-bucket',
    type: 'string',
    describe:
      'S3 bucket the snapshots are kept in (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); ' +
      'unset: no object store',
  },
  {
    flag: 's3-folder',
    type: 'string',
    default: '',
    defaultText: 'none: the bucket root',
    describe: 'key prefix inside the bucket, like backups/prod/; the snapshot names follow it',
  },
  {
    flag: 's3-endpoint',
    type: 'string',
    defaultText: 'AWS S3 of --s3-region',
    describe: 'URL of an S3-compatible server (SeaweedFS, MinIO, Ceph RGW...), addressed path-style',
  },
  { flag: 's3-region', type: 'string', default: 'us-east-1', describe: "the bucket's region" },
] as const satisfies readonly OptionSpec[];

export interface S3Config {
  readonly bucket: string;
  /** '' or a prefix ending in '/'. */
  readonly folder: string;
  readonly endpoint: string | undefined;
  readonly region: string;
}

/** The object store settings, or undefined when no bucket is set; problems go to `p`. */
export function readS3(opt: OptionReader<OptionSpec>, p: Problems): S3Config | undefined {
  const bucket = opt.optStr('s3-bucket');
  const endpoint = opt.optStr('s3-endpoint');
  if (endpoint) checkUrl(endpoint, opt.source('s3-endpoint'), p);
  let folder = opt.str('s3-folder').replace(/^\/+/, '');
  if (folder && !folder.endsWith('/')) folder += '/';
  if (!bucket) {
    if (endpoint || folder) p.add(`${opt.source(endpoint ? 's3-endpoint' : 's3-folder')} needs --s3-bucket`);
    return undefined;
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    p.add(
      `${opt.source('s3-bucket')} must be a bucket name (3-63 lower-case letters, digits, '.', '-'), not '${bucket}'`,
    );
  return { bucket, folder, endpoint, region: opt.str('s3-region') };
}
