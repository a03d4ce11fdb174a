/** Builds the adapters every command shares from its flags: directory source, localconfig, DNS. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ProxyConfError } from '../../errors.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import { LOCALCONFIG_DEFAULTS } from '../../model/localconfig-defaults.js';
import type { LookupTopology } from '../../model/lookup-topology.js';
import { readLookupTopology } from '../../model/lookup-topology.js';
import type { DirectorySnapshot } from '../../model/snapshot.js';
import type { DirectorySource, HostResolver } from '../../ports.js';
import { describeReadError } from '../../sources/describe-read-error.js';
import { readHostsFile, resolveHostnames } from '../../sources/dns/resolve-hostnames.js';
import type { LdapSourceOptions } from '../../sources/ldap/index.js';
import { createLdapDirectory, ldapOptionsFromLocalConfig } from '../../sources/ldap/index.js';
import { parseSourceSpec, readLdifSnapshot } from '../../sources/ldif/index.js';
import { readLocalConfig } from '../../sources/localconfig/index.js';

/** The flags that say where input comes from. */
export interface InputFlags {
  source?: string | undefined;
  localconfig?: string | undefined;
  hosts?: string | undefined;
  hostsOnly?: boolean | undefined;
  /** `--bind-dn DN`: LDAP bind DN instead of localconfig `zimbra_ldap_userdn`. */
  bindDn?: string | undefined;
  /** `--bind-password-file FILE`: LDAP password instead of localconfig `zimbra_ldap_password`. */
  bindPasswordFile?: string | undefined;
}

/** What an LDAP source needs besides `--source`: localconfig and the credential flags. */
export interface DirectorySourceContext {
  /** localconfig (`ldap_url`, `zimbra_ldap_userdn`, …); Zimbra's defaults when absent. */
  localConfig?: LocalConfig | undefined;
  bindDn?: string | undefined;
  bindPasswordFile?: string | undefined;
}

/**
 * The directory source of `--source`: LDIF files, or LDAP at the URLs given. Without `--source`,
 * LDAP at localconfig `ldap_url`, as Zimbra's tools do. Precedence for LDAP: `--source` URLs over
 * `ldap_url`; `--bind-dn` over `zimbra_ldap_userdn`; `--bind-password-file` over
 * `zimbra_ldap_password`. The LDAP source connects, reads and disconnects on each `load()`.
 */
export function createDirectorySource(
  spec: string | undefined,
  context: DirectorySourceContext = {},
): DirectorySource {
  const parsed = spec === undefined ? undefined : parseSourceSpec(spec);
  if (parsed?.kind === 'ldif') {
    return {
      description: spec ?? '',
      load: (kinds, attributes) => readLdifSnapshot(parsed.files, kinds, attributes),
    };
  }
  const urls = parsed?.urls;
  const description =
    urls === undefined
      ? `LDAP from localconfig ldap_url (${ldapOptionsFromLocalConfig(context.localConfig ?? new Map()).urls.join(' ')})`
      : urls.join(' ');
  return {
    description,
    async load(kinds, attributes): Promise<DirectorySnapshot> {
      const store = createLdapDirectory(await resolveLdapOptions(spec, context));
      try {
        return await store.load(kinds, attributes);
      } finally {
        await store.close();
      }
    },
  };
}

/**
 * The LDAP options of `--source ldap://…` (or localconfig `ldap_url` when `spec` is undefined),
 * the credential flags and localconfig; undefined when `spec` names LDIF files. Reads the
 * password file: a missing or unreadable file is E_INPUT.
 */
export async function resolveLdapOptions(
  spec: string | undefined,
  context: DirectorySourceContext = {},
): Promise<LdapSourceOptions> {
  const parsed = spec === undefined ? undefined : parseSourceSpec(spec);
  if (parsed?.kind === 'ldif') {
    throw new ProxyConfError('E_USAGE', `--source ${spec ?? ''} names LDIF files, not LDAP`, {
      hint: 'use --source ldap://host:port, or leave --source out to use localconfig ldap_url',
    });
  }
  const bindPassword =
    context.bindPasswordFile === undefined
      ? undefined
      : await readPasswordFile(context.bindPasswordFile);
  return ldapOptionsFromLocalConfig(context.localConfig ?? new Map(), {
    urls: parsed?.urls,
    bindDn: context.bindDn,
    bindPassword,
  });
}

/** What a secret file holds, for the hint: the flag that names it and what leaving it out means. */
export interface SecretFileUse {
  flag: string;
  holds: string;
  otherwise: string;
}

const BIND_PASSWORD_FILE: SecretFileUse = {
  flag: '--bind-password-file',
  holds: 'the LDAP password',
  otherwise: 'leave it out to use localconfig zimbra_ldap_password',
};

/**
 * The secret in FILE: its first line, without the line end (the one reader of password and key
 * files). An unreadable or empty file is an error naming the flag.
 */
export async function readPasswordFile(
  file: string,
  use: SecretFileUse = BIND_PASSWORD_FILE,
): Promise<string> {
  const hint = `give ${use.flag} a readable file holding ${use.holds} on its first line, or ${use.otherwise}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ProxyConfError('E_INPUT', `password file ${file}: ${describeReadError(error)}`, {
      hint,
      cause: error,
    });
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') {
    throw new ProxyConfError('E_INPUT', `password file ${file} is empty`, { hint });
  }
  return password;
}

/**
 * The localconfig file a command reads: `--localconfig FILE`, else `<workdir>/conf/localconfig.xml`
 * (Zimbra's home, as Zimbra's tools read it). Without either, LDAP settings would silently be
 * Zimbra's defaults, so a run that takes its directory from localconfig (no `--source`) fails.
 */
export function localConfigFileFor(
  workdir: string,
  given: string | undefined,
  source: string | undefined,
): string | undefined {
  if (given !== undefined) return given;
  const file = `${workdir}/conf/localconfig.xml`;
  if (existsSync(file)) return file;
  if (source !== undefined) return undefined;
  throw new ProxyConfError(
    'E_INPUT',
    `${file} does not exist, and no --source names the directory`,
    {
      hint: `zmproxyctl setup -w ${workdir} creates it (then zmlocalconfig -w ${workdir} -e ldap_url=… zimbra_ldap_userdn=… zimbra_ldap_password=…), or give --localconfig FILE or --source`,
    },
  );
}

/** The values of the shared directory flags (DIRECTORY_FLAGS), as parseArgs returns them. */
export interface DirectoryFlagValues {
  source?: string | undefined;
  localconfig?: string | undefined;
  workdir?: string | undefined;
  'bind-dn'?: string | undefined;
  'bind-password-file'?: string | undefined;
}

/**
 * The work directory, localconfig and directory source that the shared directory flags name
 * (`-w` defaults to /opt/zimbra), as every read-only command opens them.
 */
export async function openDirectoryFromFlags(values: DirectoryFlagValues): Promise<{
  workdir: string;
  localConfig: LocalConfig;
  source: DirectorySource;
}> {
  const workdir = resolve(values.workdir ?? '/opt/zimbra');
  const localConfig = await loadLocalConfig(
    localConfigFileFor(workdir, values.localconfig, values.source),
  );
  const source = createDirectorySource(values.source, {
    localConfig,
    bindDn: values['bind-dn'],
    bindPasswordFile: values['bind-password-file'],
  });
  return { workdir, localConfig, source };
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

/** A localconfig key's value, Zimbra's default when absent or empty. */
export function localConfigText(lc: ReadonlyMap<string, string>, key: string): string {
  const own = lc.get(key);
  return own !== undefined && own !== '' ? own : (LOCALCONFIG_DEFAULTS[key] ?? '');
}

/**
 * The lookup topology of localconfig's `zmproxy_lookup_*` keys, as `zmproxy lookup` and
 * `zmproxyctl` start it; the first unusable key is an error.
 */
export function readLocalLookupTopology(lc: ReadonlyMap<string, string>): LookupTopology {
  const { topology, problems } = readLookupTopology((key) => localConfigText(lc, key));
  const first = problems[0];
  if (first !== undefined) {
    throw new ProxyConfError(
      'E_LOCALCONFIG',
      `localconfig ${first.key}: ${first.message} (got "${first.value}")`,
      { hint: first.hint },
    );
  }
  return topology;
}
