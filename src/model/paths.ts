/**
 * File system layout of a generation, all derived from the work directory (docs/zimbra-notes.md
 * "Files and paths").
 */

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
  /**
   * `--apply`: lay the output out for a generation directory
   * (`<workdir>/conf/nginx/generations/<id>/`, served through the `<workdir>/conf/nginx/current`
   * symlink). Every generated path in the rendered text is then relative to the directory of
   * the main file, which nginx resolves against the directory of its `-c` file: the same bytes
   * are tested in the staged directory (`nginx -t -c generations/<id>/nginx.conf`) and served
   * through the symlink (`-c current/nginx.conf`). `includeDir` is ignored.
   * @default false
   */
  generationLayout?: boolean | undefined;
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
  /** Whether the output is laid out for a generation directory (`--apply`). */
  generationLayout: boolean;
  /** `<confDir>/nginx/current`: the symlink to the generation nginx serves. */
  liveDir: string;
  /** `<confDir>/nginx/generations`: one directory per generation. */
  generationsDir: string;
  /**
   * The include that makes nginx serve the generation id on a loopback-only listener; written by
   * `--apply` into each generation (relative to the main file), commented out otherwise.
   */
  generationMarkerFile: string;
}

export const DEFAULT_WORKDIR = '/opt/zimbra';

/** Normalises path options; pure string work (POSIX separators, as nginx needs). */
export function resolvePaths(options: PathOptions = {}): ResolvedPaths {
  const workdir = stripTrailingSlash(options.workdir ?? DEFAULT_WORKDIR);
  const confDir = `${workdir}/conf`;
  const include = options.includeDir ?? 'nginx/includes';
  const configPrefix = options.configPrefix ?? 'nginx.conf';
  const generationLayout = options.generationLayout ?? false;
  const liveDir = `${confDir}/nginx/current`;
  if (generationLayout) {
    // Relative to the main file's directory: nginx resolves include, ssl_certificate and
    // ssl_client_certificate against the directory of its -c file.
    return {
      workdir,
      confDir,
      includesDir: 'includes',
      templateDir: stripTrailingSlash(options.templateDir ?? `${confDir}/nginx/templates`),
      configPrefix,
      templatePrefix: options.templatePrefix ?? configPrefix,
      sslCrtDefault: `${confDir}/nginx.crt`,
      sslKeyDefault: `${confDir}/nginx.key`,
      clientCaBundle: 'nginx.client.ca.crt',
      dhparamFile: `${confDir}/dhparam.pem`,
      domainCertDir: 'domaincerts',
      logDir: `${workdir}/log`,
      htmlRoot: `${workdir}/data/nginx/html`,
      generationLayout,
      liveDir,
      generationsDir: `${confDir}/nginx/generations`,
      generationMarkerFile: GENERATION_MARKER_FILE,
    };
  }
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
    generationLayout,
    liveDir,
    generationsDir: `${confDir}/nginx/generations`,
    generationMarkerFile: `${liveDir}/${GENERATION_MARKER_FILE}`,
  };
}

/** The generation marker include's file name inside a generation directory. */
export const GENERATION_MARKER_FILE = 'zmproxy-generation.conf';

function stripTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The file that marks a directory as a zmproxy template set (every template in it is rendered). */
export const TEMPLATE_SET_MARKER = 'zmproxy-template-set';
