/** The `--source` option: LDIF files or LDAP URLs. */
import { ProxyConfError } from '../../errors.js';

/** Where the directory comes from: LDIF files, or LDAP servers tried in order. */
export type SourceSpec = { kind: 'ldif'; files: string[] } | { kind: 'ldap'; urls: string[] };

const SOURCE_HINT =
  'use --source ldif:<file>[,<file>...] or --source ldap://<host>:389 (several URLs separated by spaces or commas)';

const LDAP_URL = /^ldaps?:\/\//i;

/** Parses `ldif:a.ldif,b.ldif`, `x.ldif`, or `ldap://h1 ldaps://h2`; throws E_USAGE otherwise. */
export function parseSourceSpec(spec: string): SourceSpec {
  const trimmed = spec.trim();
  if (/^ldif:/i.test(trimmed)) {
    const files = trimmed
      .slice('ldif:'.length)
      .split(',')
      .map((file) => file.trim())
      .filter((file) => file !== '');
    if (files.length === 0) {
      throw new ProxyConfError('E_USAGE', `--source "${spec}" names no LDIF file`, {
        hint: SOURCE_HINT,
      });
    }
    return { kind: 'ldif', files };
  }
  if (LDAP_URL.test(trimmed)) {
    const urls = trimmed.split(/[\s,]+/).filter((url) => url !== '');
    const bad = urls.find((url) => !LDAP_URL.test(url));
    if (bad !== undefined) {
      throw new ProxyConfError('E_USAGE', `--source: "${bad}" is not an ldap:// or ldaps:// URL`, {
        hint: SOURCE_HINT,
      });
    }
    return { kind: 'ldap', urls };
  }
  if (/\.ldif$/i.test(trimmed)) return { kind: 'ldif', files: [trimmed] };
  throw new ProxyConfError(
    'E_USAGE',
    trimmed === ''
      ? '--source is empty'
      : `--source "${spec}" is neither an LDIF file nor an LDAP URL`,
    { hint: SOURCE_HINT },
  );
}
