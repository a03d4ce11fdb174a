/**
 * `--verify-password`: how the password of a login is checked, from the domain's zimbraAuthMech,
 * as Zimbra's mailbox server would check it (docs/zimbra-nginx-lookup.md, "Password checks"):
 * - `zimbra` or unset: a bind as the account's DN on the Zimbra directory;
 * - `ldap`/`ad`: a bind on the domain's external directory (zimbraAuthLdapURL) as the account's
 *   zimbraAuthLdapExternalDn, else as the DN a search with zimbraAuthLdapSearchFilter finds (ldap
 *   only; Zimbra ignores the filter for ad), else as zimbraAuthLdapBindDn expanded;
 * - anything else (kerberos5, custom:…, unknown): refused — the proxy cannot check it.
 * Pure: attributes in, a plan out; the binds are the adapters'.
 */
import { escapeLdapFilterValue } from './directory-queries.js';
import type { AttributeMap } from '../model/snapshot.js';
import { attrOf, attrValues } from './directory-queries.js';

/** Where and how to check one password. */
export type PasswordCheckPlan =
  | { kind: 'zimbra'; dn: string }
  | {
      kind: 'external-bind';
      mech: 'ldap' | 'ad';
      urls: readonly string[];
      startTls: boolean;
      dn: string;
    }
  | {
      kind: 'external-search';
      mech: 'ldap';
      urls: readonly string[];
      startTls: boolean;
      base: string;
      filter: string;
      /** The search binds as this DN (zimbraAuthLdapSearchBindDn), anonymous when undefined. */
      searchDn: string | undefined;
      searchPassword: string | undefined;
    }
  /** The domain's mechanism cannot be checked here (kerberos5, custom:…, unknown). */
  | { kind: 'unsupported'; mech: string }
  /** An ldap/ad domain without the attributes it needs. */
  | { kind: 'misconfigured'; mech: string; problem: string };

/** What a plan needs of the account. */
export interface PasswordCheckAccount {
  /** The account's DN on the Zimbra directory. */
  dn: string;
  /** The account name, `user@domain` (the principal the templates expand). */
  name: string;
  /** zimbraAuthLdapExternalDn of the account. */
  externalDn: string | undefined;
}

/**
 * RFC 4514 escaping of a value placed into a DN. Zimbra substitutes the login unescaped; a login
 * holding `,` or `=` must not change which entry the bind names.
 */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ')
    .replace(
      // eslint-disable-next-line no-control-regex -- NUL is escaped by RFC 4514
      /\u0000/g,
      '\\00',
    );
}

/** `example.com` → `dc=example,dc=com` (Zimbra's LdapUtil.domainToDN), each label DN-escaped. */
export function domainToDn(domain: string): string {
  return domain
    .split('.')
    .map((label) => `dc=${escapeDnValue(label)}`)
    .join(',');
}

/**
 * Expands a zimbraAuthLdapBindDn / zimbraAuthLdapSearchFilter template as Zimbra's
 * LdapUtil.computeDn does: `%n` the whole name, `%u` its local part, `%d` its domain, `%D` the
 * domain as `dc=` components, `%%` a `%`; another `%x` becomes `x`; an empty template or `%n`
 * alone is the name itself. `%d` and `%D` stay as written when the name has no domain. Unlike
 * Zimbra, each substituted value is escaped for where it lands (`escape`).
 */
export function expandAuthTemplate(
  template: string,
  name: string,
  escape: (value: string) => string,
): string {
  if (template === '' || template === '%n') return name;
  const at = name.indexOf('@');
  const vars: Record<string, string> = { n: escape(name) };
  if (at < 0) vars['u'] = escape(name);
  else {
    const domain = name.slice(at + 1);
    vars['u'] = escape(name.slice(0, at));
    vars['d'] = escape(domain);
    // %D is a DN already: in a DN its labels are escaped; in a filter it is one filter value.
    vars['D'] = escape === escapeDnValue ? domainToDn(domain) : escape(domainToDn(domain));
  }
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    i += 1;
    const next = template[i];
    if (next === undefined) break;
    out += next === '%' ? '%' : (vars[next] ?? next);
  }
  return out;
}

/** The domain's zimbraAuthMech, `zimbra` when unset. */
export function authMechOf(domain: AttributeMap | undefined): string {
  const mech = domain === undefined ? undefined : attrOf(domain, 'zimbraAuthMech')?.trim();
  return mech === undefined || mech === '' ? 'zimbra' : mech;
}

/** Plans the check of one account's password. */
export function planPasswordCheck(
  account: PasswordCheckAccount,
  domain: AttributeMap | undefined,
): PasswordCheckPlan {
  const mech = authMechOf(domain);
  if (mech === 'zimbra') return { kind: 'zimbra', dn: account.dn };
  if (mech !== 'ldap' && mech !== 'ad') return { kind: 'unsupported', mech };
  const attrs = domain ?? {};
  const urls = attrValues(attrs, 'zimbraAuthLdapURL').flatMap((value) =>
    value.split(/\s+/).filter((url) => url !== ''),
  );
  if (urls.length === 0) {
    return { kind: 'misconfigured', mech, problem: 'zimbraAuthLdapURL is not set' };
  }
  const startTls = attrOf(attrs, 'zimbraAuthLdapStartTlsEnabled')?.toUpperCase() === 'TRUE';
  if (account.externalDn !== undefined && account.externalDn !== '') {
    return { kind: 'external-bind', mech, urls, startTls, dn: account.externalDn };
  }
  const filter = attrOf(attrs, 'zimbraAuthLdapSearchFilter');
  if (filter !== undefined && filter !== '' && mech === 'ldap') {
    return {
      kind: 'external-search',
      mech,
      urls,
      startTls,
      base: attrOf(attrs, 'zimbraAuthLdapSearchBase') ?? '',
      filter: expandAuthTemplate(filter, account.name, escapeLdapFilterValue),
      searchDn: attrOf(attrs, 'zimbraAuthLdapSearchBindDn'),
      searchPassword: attrOf(attrs, 'zimbraAuthLdapSearchBindPassword'),
    };
  }
  const bindDn = attrOf(attrs, 'zimbraAuthLdapBindDn');
  if (bindDn !== undefined && bindDn !== '') {
    return {
      kind: 'external-bind',
      mech,
      urls,
      startTls,
      dn: expandAuthTemplate(bindDn, account.name, escapeDnValue),
    };
  }
  return {
    kind: 'misconfigured',
    mech,
    problem:
      mech === 'ad'
        ? 'zimbraAuthLdapBindDn is not set'
        : 'neither zimbraAuthLdapSearchFilter nor zimbraAuthLdapBindDn is set',
  };
}

/**
 * Account statuses a verified login may have. Zimbra's authAccount refuses every status but
 * active and lockout, and lockout only while zimbraPasswordLockoutDuration runs; the proxy does
 * not keep lockout clocks, so it refuses lockout too (the mailbox server unlocks it). A missing
 * status is refused, as Zimbra refuses it ("missing account status").
 */
export function statusRefusal(status: string | undefined): string | undefined {
  if (status === 'active') return undefined;
  return status === undefined ? 'no zimbraAccountStatus' : `zimbraAccountStatus is ${status}`;
}
