/**
 * Opens the DirectoryStore a writing command (zmprov, zmproxyconfig) works on: `--source
 * ldif:FILE` is that file (createLdifStore), `--source ldap://…` or no --source is LDAP, with
 * URLs, bind DN and password from localconfig (`ldap_url`, `zimbra_ldap_userdn`,
 * `zimbra_ldap_password`) as `zmprov -l` does, the flags overriding them.
 */
import { ProxyConfError } from '../../errors.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import type { DirectoryStore } from '../../ports.js';
import { createLdifStore } from '../../sources/ldif-store/index.js';
import { expandLdifFiles, parseSourceSpec } from '../../sources/ldif/index.js';
import type { InputFlags } from './inputs.js';
import { resolveLdapOptions } from './inputs.js';

/** The flags that say which directory to open (`--source`, `--bind-dn`, `--bind-password-file`). */
export type StoreFlags = Pick<InputFlags, 'source' | 'bindDn' | 'bindPasswordFile'>;

/** Opens the store named by the flags. */
export async function openDirectoryStore(
  flags: StoreFlags,
  localConfig: LocalConfig,
): Promise<DirectoryStore> {
  const spec = flags.source === undefined ? undefined : parseSourceSpec(flags.source);
  if (spec?.kind === 'ldif') {
    const files = await expandLdifFiles(spec.files);
    if (files.length !== 1) {
      throw new ProxyConfError('E_USAGE', `--source ${flags.source}: give exactly one LDIF file`, {
        hint: 'changes are written back into the file, so name one: --source ldif:FILE',
      });
    }
    return createLdifStore(files[0] as string);
  }
  const options = await resolveLdapOptions(flags.source, { ...flags, localConfig });
  const ldap = await import('../../sources/ldap/index.js');
  return ldap.createLdapDirectory(options);
}
