/** Builds the adapters every command shares from its flags: directory source, localconfig, DNS. */
import { ProxyConfError } from '../../errors.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import type { DirectorySource, HostResolver } from '../../ports.js';
import { readHostsFile, resolveHostnames } from '../../sources/dns/resolve-hostnames.js';
import { parseSourceSpec, readLdifSnapshot } from '../../sources/ldif/index.js';
import { readLocalConfig } from '../../sources/localconfig/index.js';

/** The flags that say where input comes from. */
export interface InputFlags {
  source?: string | undefined;
  localconfig?: string | undefined;
  hosts?: string | undefined;
  hostsOnly?: boolean | undefined;
}

/** The directory source named by `--source`. */
export function createDirectorySource(spec: string | undefined): DirectorySource {
  if (spec === undefined) {
    throw new ProxyConfError('E_USAGE', 'no directory source given', {
      hint: 'give --source ldif:FILE[,FILE…] (an export of your Zimbra LDAP: ldapsearch -LLL or slapcat)',
    });
  }
  const parsed = parseSourceSpec(spec);
  switch (parsed.kind) {
    case 'ldif':
      return { description: spec, load: () => readLdifSnapshot(parsed.files) };
    case 'ldap':
      // TODO(issue 3): the ldapts source.
      throw new ProxyConfError(
        'E_USAGE',
        `--source ${spec}: the LDAP source is not available in this version`,
        {
          hint: 'export the directory with `ldapsearch -LLL … > dir.ldif` and use --source ldif:dir.ldif',
        },
      );
  }
}

/** The localconfig of `--localconfig` (defaults only when absent). */
export function loadLocalConfig(file: string | undefined): Promise<LocalConfig> {
  return readLocalConfig(file);
}

/** The resolver: `--hosts FILE` answers first, then the system resolver (unless --hosts-only). */
export async function createHostResolver(flags: InputFlags): Promise<HostResolver> {
  const hosts = flags.hosts === undefined ? undefined : await readHostsFile(flags.hosts);
  return {
    resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: flags.hostsOnly ?? false }),
  };
}
