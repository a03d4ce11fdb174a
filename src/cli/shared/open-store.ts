/**
 * Opens the DirectoryStore a writing command (zmprov, zmproxyconfig) works on: `--source
 * ldif:FILE` is that file (createLdifStore), `--source ldap://…` or no --source is LDAP, with
 * URLs, bind DN and password from localconfig (`ldap_url`, `zimbra_ldap_userdn`,
 * `zimbra_ldap_password`) as `zmprov -l` does, the flags overriding them.
 */
import { readFile } from 'node:fs/promises';
import { ProxyConfError } from '../../errors.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import type { DirectoryStore } from '../../ports.js';
import { describeReadError } from '../../sources/describe-read-error.js';
import type { LdapSourceOptions } from '../../sources/ldap/options.js';
import { createLdifStore } from '../../sources/ldif-store/index.js';
import { parseSourceSpec } from '../../sources/ldif/parse-source-spec.js';

/** The flags that say which directory to open. */
export interface StoreFlags {
  /** `--source ldif:FILE` or `--source ldap://…`; absent: LDAP from localconfig. */
  source?: string | undefined;
  /** `--bind-dn DN`, overriding localconfig `zimbra_ldap_userdn`. */
  bindDn?: string | undefined;
  /** `--bind-password-file FILE`, overriding localconfig `zimbra_ldap_password`. */
  bindPasswordFile?: string | undefined;
}

/** Opens the store named by the flags. */
export async function openDirectoryStore(
  flags: StoreFlags,
  localConfig: LocalConfig,
): Promise<DirectoryStore> {
  const spec = flags.source === undefined ? undefined : parseSourceSpec(flags.source);
  if (spec?.kind === 'ldif') {
    if (spec.files.length !== 1) {
      throw new ProxyConfError('E_USAGE', `--source ${flags.source}: give exactly one LDIF file`, {
        hint: 'changes are written back into the file, so name one: --source ldif:FILE',
      });
    }
    return createLdifStore(spec.files[0] as string);
  }
  const overrides: Partial<LdapSourceOptions> = {};
  if (spec?.kind === 'ldap') overrides.urls = spec.urls;
  if (flags.bindDn !== undefined) overrides.bindDn = flags.bindDn;
  if (flags.bindPasswordFile !== undefined) {
    overrides.bindPassword = await readPasswordFile(flags.bindPasswordFile);
  }
  // Loaded on demand: a command on an LDIF file never pays for loading the LDAP client.
  const ldap = await import('../../sources/ldap/index.js');
  return ldap.createLdapDirectory(ldap.ldapOptionsFromLocalConfig(localConfig, overrides));
}

async function readPasswordFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new ProxyConfError('E_INPUT', `${file}: ${describeReadError(error)}`, {
      hint: 'give --bind-password-file a readable file holding the bind password',
      cause: error,
    });
  }
}
