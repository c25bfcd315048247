// Virtual-hosted-style addressing (`http://BUCKET.s3.example.com/KEY`): which bucket a Host header names
// under the domains a server is configured with (`sediment serve --domain`). Kept apart from the S3
// server so that the CLI can check `--domain` without loading it.
import { SedimentError } from './errors.js';

/**
 * The bucket a virtual-hosted-style Host names (`my.bucket.s3.example.com` under `s3.example.com` →
 * `my.bucket`), or undefined for path style. The port is ignored; names compare case-insensitively.
 */
export function virtualHostBucket(host: string | undefined, domains: readonly string[]): string | undefined {
  if (host === undefined || domains.length === 0) return undefined;
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) return undefined; // an IPv6 literal never names a bucket
  const colon = name.lastIndexOf(':');
  if (colon !== -1 && /^\d+$/.test(name.slice(colon + 1))) name = name.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  for (const d of domains) {
    if (name.length > d.length + 1 && name.endsWith(d) && name[name.length - d.length - 1] === '.') return name.slice(0, name.length - d.length - 1);
  }
  return undefined;
}

/** Domains as `--domain` takes them: lower case, no port, no trailing dot; refuses what cannot be a host name. */
export function normalizeDomains(list: readonly string[]): string[] {
  return list.map((raw) => {
    const d = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(d) || d.length > 253) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `"${raw}" is not a domain name (expected e.g. s3.example.com)`);
    }
    return d;
  });
}
