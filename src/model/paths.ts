/** File system layout of a generation, all derived from the work directory (ref §2.1). */

/** The layout options, as the CLI flags give them. */
export interface PathOptions {
  /** `-w`: Zimbra's home. @default '/opt/zimbra' */
  workdir?: string | undefined;
  /** `-t`: template directory. @default '<workdir>/conf/nginx/templates' */
  templateDir?: string | undefined;
  /** `-i`: includes directory relative to `<workdir>/conf`. @default 'nginx/includes' */
  includeDir?: string | undefined;
  /** `-p`: config file prefix. @default 'nginx.conf' */
  configPrefix?: string | undefined;
  /** `-P`: template file prefix. @default the config prefix */
  templatePrefix?: string | undefined;
}

/** Every path a generation reads or writes. */
export interface ResolvedPaths {
  workdir: string;
  confDir: string;
  includesDir: string;
  templateDir: string;
  configPrefix: string;
  templatePrefix: string;
  /** Default server certificate and key (Zimbra: fixed /opt/zimbra/conf; ours follow `-w`). */
  sslCrtDefault: string;
  sslKeyDefault: string;
  /** Client-certificate CA bundle written when client-cert verification is configured. */
  clientCaBundle: string;
  dhparamFile: string;
  /** Per-domain certificates and keys, `<domain>.crt` / `<domain>.key`. */
  domainCertDir: string;
  logDir: string;
  htmlRoot: string;
}

export const DEFAULT_WORKDIR = '/opt/zimbra';

/** Normalises path options; pure string work (POSIX separators, as nginx needs). */
export function resolvePaths(options: PathOptions = {}): ResolvedPaths {
  const workdir = stripTrailingSlash(options.workdir ?? DEFAULT_WORKDIR);
  const confDir = `${workdir}/conf`;
  const include = options.includeDir ?? 'nginx/includes';
  const configPrefix = options.configPrefix ?? 'nginx.conf';
  return {
    workdir,
    confDir,
    includesDir: include.startsWith('/')
      ? stripTrailingSlash(include)
      : `${confDir}/${stripTrailingSlash(include)}`,
    templateDir: stripTrailingSlash(options.templateDir ?? `${confDir}/nginx/templates`),
    configPrefix,
    templatePrefix: options.templatePrefix ?? configPrefix,
    sslCrtDefault: `${confDir}/nginx.crt`,
    sslKeyDefault: `${confDir}/nginx.key`,
    clientCaBundle: `${confDir}/nginx.client.ca.crt`,
    dhparamFile: `${confDir}/dhparam.pem`,
    domainCertDir: `${confDir}/domaincerts`,
    logDir: `${workdir}/log`,
    htmlRoot: `${workdir}/data/nginx/html`,
  };
}

function stripTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
