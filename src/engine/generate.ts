/**
 * One generation: directory → variables → rendered files, as a plan. Nothing is written here;
 * the caller compares the plan with disk and writes (or shows a diff, or checks).
 */
import type { Problem, Warning, WarningCode } from '../errors.js';
import { ProblemsError } from '../errors.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import { findLoadModules, MODULE_RULE_HINT } from '../model/load-module.js';
import type { PathOptions, ResolvedPaths } from '../model/paths.js';
import { resolvePaths } from '../model/paths.js';
import type { DirectorySnapshot } from '../model/snapshot.js';
import type { FleetIdentity } from './fleet-identity.js';
import { PROXY_CONFIG_ATTRIBUTES, PROXY_CONFIG_KINDS } from '../model/snapshot.js';
import { entryName } from '../model/snapshot.js';
import type { PlannedFile } from '../plan/plan-changes.js';
import { SECRET_FILE_MODE } from '../plan/plan-changes.js';
import type {
  DirectorySource,
  FileStore,
  HostResolver,
  ModuleTrust,
  TemplateStore,
} from '../ports.js';
import { fillTemplate, renderTemplates } from '../render/index.js';
import { buildVarContext } from '../vars/context.js';
import { computeServerItems } from '../vars/docs.js';
import { computeClientCaBundle, computeDomainItems } from '../vars/domains.js';
import type { VariableOverride } from '../vars/registry.js';
import { applyOverrides, computeVariables, secretVariableNames } from '../vars/registry.js';
import { checkListenerPorts, checkWorkerConnections } from '../vars/listeners.js';
import { computeStockWarnings } from '../vars/stock-limits.js';
import type { StockWebSites } from '../vars/stock-sites.js';
import { computeStockWebSites } from '../vars/stock-sites.js';
import { WORKER_USER_KEY } from '../vars/worker-user.js';
import { computeStockMailTls } from '../vars/stock-mail-tls.js';
import type { StockMailTls } from '../vars/stock-mail-tls.js';
import type { StockMailVip } from '../vars/stock.js';
import { computeStockMailVips } from '../vars/stock.js';
import { computeDomainCertFiles } from './domain-certs.js';

/** The warnings `-f` (--force-dns-resolution) turns into errors: a name that does not resolve. */
const FORCED_BY_DNS: ReadonlySet<WarningCode> = new Set<WarningCode>([
  'W_VHOST_UNRESOLVED',
  'W_LOOKUP_HANDLER_UNRESOLVED',
  'W_MEMCACHED_UNRESOLVED',
]);

/** Options of {@link generate}. */
export interface GenerateOptions {
  paths?: PathOptions;
  /** `-s`: the server to generate for, by name or zimbraId. @default localconfig zimbra_server_hostname */
  serverName?: string | undefined;
  /** `-c name=value` overrides. @default [] */
  overrides?: readonly VariableOverride[];
  /** Unknown template variables expand to "" (Zimbra's behaviour) instead of failing. @default false */
  lenient?: boolean;
  /** Append ProxyConfGen's `#__SUCCESS__` marker to the main file. @default false */
  marker?: boolean;
  /** `-f`: a virtual host name that does not resolve fails the run. @default false */
  forceDnsResolution?: boolean;
  /** Write per-domain certificates and keys into `<workdir>/conf/domaincerts`. @default true */
  domainCerts?: boolean;
}

/** The adapters {@link generate} uses. */
export interface GenerateDeps {
  source: DirectorySource;
  localConfig: LocalConfig;
  templates: TemplateStore;
  resolver: HostResolver;
  files: Pick<FileStore, 'exists'>;
  /**
   * Judges every shared object a rendered file loads (`load_module`); a refused one is a problem
   * and nothing is written. The CLI passes the file-system check of src/reload/module-trust.ts.
   */
  moduleTrust?: ModuleTrust | undefined;
  /**
   * The id of a group name, or undefined when the group does not exist: with certificates chosen
   * by map, nginx's workers read the domain keys at the handshake, so the keys go to their group
   * (localconfig zmproxy_nginx_group). Without it, keys keep mode 0600.
   */
  groupId?: ((name: string) => Promise<number | undefined>) | undefined;
  /**
   * Whether a user exists on this host: the stock templates' `user` directive names localconfig
   * zimbra_user, and nginx refuses to start with a user it cannot find. Absent: not checked.
   */
  userExists?: ((name: string) => Promise<boolean>) | undefined;
}

/** What a generation produced. */
export interface Generation {
  files: PlannedFile[];
  warnings: Warning[];
  /** Every variable's config text, after overrides. */
  vars: ReadonlyMap<string, string>;
  /** The server the configuration was generated for. */
  server: string;
  paths: ResolvedPaths;
  snapshot: DirectorySnapshot;
  /** Server, directory revision and directory config hash (set by --apply's render). */
  identity?: FleetIdentity | undefined;
}

/** Variables only: the first half of a generation (`-D`). */
export async function computeGenerationVariables(
  options: GenerateOptions,
  deps: Omit<GenerateDeps, 'templates'>,
): Promise<
  Omit<Generation, 'files'> & {
    extraFiles: PlannedFile[];
    render: RenderData;
    stockWarnings: Warning[];
    /** The stock set's web layout, for its Handlebars templates. */
    web: StockWebSites;
    /** The stock set's mail TLS chain, for its Handlebars templates. */
    mailTls: StockMailTls;
    /** The stock set's mail servers on virtual IP addresses, for its Handlebars templates. */
    mailVips: readonly StockMailVip[];
  }
> {
  const paths = resolvePaths(options.paths);
  const snapshot = await deps.source.load(PROXY_CONFIG_KINDS, PROXY_CONFIG_ATTRIBUTES);
  const facts = { dhparamExists: await deps.files.exists(paths.dhparamFile) };
  const { ctx, problems, warnings, serverSource } = await buildVarContext(
    { snapshot, serverName: options.serverName, localConfig: deps.localConfig, paths, facts },
    deps.resolver,
  );

  const vars = computeVariables(ctx);
  const domains = computeDomainItems(ctx);
  const servers = computeServerItems(ctx);
  const caBundle = computeClientCaBundle(ctx);
  const web = computeStockWebSites(ctx);
  const mailTls = computeStockMailTls(ctx);
  const mailVips = computeStockMailVips(ctx);
  const extraFiles: PlannedFile[] = [];
  if (options.domainCerts ?? true)
    extraFiles.push(...computeDomainCertFiles(snapshot, paths, ctx.problem));
  if (caBundle.trim() !== '') {
    extraFiles.push({ path: paths.clientCaBundle, content: withNewline(caBundle), mode: 0o644 });
  }

  const allProblems: Problem[] = [...problems];
  const allWarnings: Warning[] = [];
  for (const warning of warnings) {
    // -f: a virtual host that does not resolve is an error, not a warning (docs/zimbra-notes.md
    // "Per-domain variables").
    if (options.forceDnsResolution === true && FORCED_BY_DNS.has(warning.code)) {
      allProblems.push({
        subject: 'zimbraVirtualHostname',
        entry: 'DNS',
        message: warning.message,
        hint: warning.hint,
      });
    } else {
      allWarnings.push(warning);
    }
  }
  if (allProblems.length > 0) throw new ProblemsError(allProblems);
  allWarnings.push(...applyOverrides(vars, options.overrides ?? []));
  const portProblems = checkListenerPorts(vars, entryName(serverSource));
  if (portProblems.length > 0) throw new ProblemsError(portProblems);
  expandValueTokens(vars);

  return {
    warnings: allWarnings,
    vars,
    server: entryName(serverSource),
    paths,
    snapshot,
    extraFiles,
    stockWarnings: computeStockWarnings(ctx),
    web,
    mailTls,
    mailVips,
    render: {
      domains,
      servers,
      perVirtualHostname: ctx.server.boolean('zimbraReverseProxyGenConfigPerVirtualHostname'),
    },
  };
}

type RenderData = Pick<
  Parameters<typeof renderTemplates>[0],
  'domains' | 'servers' | 'perVirtualHostname'
>;

/** Runs a whole generation and returns the planned files; throws on any problem. */
export async function generate(options: GenerateOptions, deps: GenerateDeps): Promise<Generation> {
  const computed = await computeGenerationVariables(options, deps);
  const { paths } = computed;
  const templates = await deps.templates.readTemplates(paths.templateDir, paths.templatePrefix);
  const rendered = renderTemplates(
    {
      templates,
      vars: computed.vars,
      ...computed.render,
      handlebarsContext: {
        domains: computed.render.domains,
        servers: computed.render.servers,
        web: computed.web,
        mailTls: computed.mailTls,
        mailVips: computed.mailVips,
      },
    },
    {
      confDir: paths.confDir,
      includesDir: paths.includesDir,
      configPrefix: paths.configPrefix,
      templatePrefix: paths.templatePrefix,
      lenient: options.lenient ?? false,
      marker: options.marker ?? false,
    },
  );
  if (!rendered.ok) throw new ProblemsError(rendered.problems, 'E_TEMPLATE');
  const connectionProblems = checkWorkerConnections(rendered.files, computed.vars, computed.server);
  if (connectionProblems.length > 0) throw new ProblemsError(connectionProblems);
  if (deps.moduleTrust !== undefined) {
    await checkLoadedModules(rendered.files, deps.moduleTrust, computed.vars);
  }
  await checkWorkerUser(templates, computed.vars, deps);
  const secrets = secretVariableNames()
    .map((name) => computed.vars.get(name) ?? '')
    .filter((value) => value !== '');
  const files: PlannedFile[] = [
    ...rendered.files.map((file) =>
      secrets.some((value) => file.content.includes(value))
        ? { path: file.path, content: file.content, mode: SECRET_FILE_MODE, secret: true }
        : { path: file.path, content: file.content, mode: 0o644 },
    ),
    ...(await workerReadableKeys(computed.extraFiles, computed.web, paths, deps)),
  ];
  // Every name is checked before the first write: a plain run writes everything or nothing.
  const nameProblems = checkFileNames(files);
  if (nameProblems.length > 0) throw new ProblemsError(nameProblems);
  return {
    files,
    warnings: [
      ...computed.warnings,
      // What stock nginx cannot do matters only when our stock templates are rendered.
      ...(templates.some((t) => t.text.includes('${stock.')) ? computed.stockWarnings : []),
      ...rendered.warnings,
    ],
    vars: computed.vars,
    server: computed.server,
    paths,
    snapshot: computed.snapshot,
  };
}

/**
 * Expands, once, the tokens inside variable values (`listen.:addresses` holds
 * `${web.strict.servername}` and `${web.https.port}` on each of its lines). The engine's
 * rescan would give the same text, but it copies the whole line per substitution: with 10 000
 * virtual IPs that is 20 000 copies of a 1 MB line. A value naming an unknown variable, or one
 * that does not terminate, is left as it is for the engine to report with its file and line.
 */
function expandValueTokens(vars: Map<string, string>): void {
  const lookup = (token: string): string | undefined => vars.get(token);
  for (const [name, value] of vars) {
    if (!value.includes('${')) continue;
    // Line by line: our values never hold a token that spans a line break.
    const lines: string[] = [];
    for (const line of value.split('\n')) {
      let unknown = false;
      const expanded = fillTemplate(line, (token) => {
        const found = lookup(token);
        if (found === undefined) unknown = true;
        return found ?? '';
      });
      if (!expanded.ok || unknown) break;
      lines.push(expanded.text);
    }
    if (lines.length === value.split('\n').length) vars.set(name, lines.join('\n'));
  }
}

/** Linux's limits: 255 bytes per file name, 4095 per path. */
const NAME_MAX = 255;
const PATH_MAX = 4095;

const utf8Length = (text: string): number => new TextEncoder().encode(text).length;

/** Problems with file names the file system would refuse (a 253-character domain name + `.crt`). */
export function checkFileNames(files: readonly { path: string }[]): Problem[] {
  const problems: Problem[] = [];
  for (const { path } of files) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const tooLong =
      utf8Length(name) > NAME_MAX
        ? `its name is longer than ${NAME_MAX} bytes`
        : utf8Length(path) > PATH_MAX
          ? `its path is longer than ${PATH_MAX} bytes`
          : undefined;
    if (tooLong === undefined) continue;
    const domainCert = /\/domaincerts\/(.+?)(\.client\.ca)?\.(crt|key)$/.exec(path);
    problems.push({
      subject: domainCert === null ? 'file' : 'zimbraDomainName',
      entry: domainCert === null ? path.slice(0, 80) : `domain ${domainCert[1]?.slice(0, 60)}…`,
      message: `the file ${name.slice(0, 40)}… cannot be written: ${tooLong}`,
      hint:
        domainCert === null
          ? 'use a shorter work directory (-w) or template name'
          : 'a domain name that long cannot have its own certificate files; remove zimbraSSLCertificate and zimbraSSLPrivateKey from it, or shorten the name',
    });
  }
  return problems;
}

/** Refuses the generation when a rendered file loads a module nginx must not load as root. */
async function checkLoadedModules(
  files: readonly { path: string; content: string }[],
  trust: ModuleTrust,
  vars: ReadonlyMap<string, string>,
): Promise<void> {
  const problems: Problem[] = [];
  const fromLocalConfig = new Map([
    [vars.get('stock.mail.module'), 'zmproxy_nginx_mail_module'],
    [vars.get('stock.stream.module'), 'zmproxy_nginx_stream_module'],
  ]);
  for (const file of files) {
    for (const module of findLoadModules(file.content)) {
      const reason = await trust(module);
      if (reason === undefined) continue;
      const key = fromLocalConfig.get(module);
      problems.push({
        subject: key ?? 'load_module',
        entry: key === undefined ? file.path : 'localconfig',
        message: `nginx would load this module as root, but ${reason}`,
        value: module,
        hint: MODULE_RULE_HINT,
      });
    }
  }
  if (problems.length > 0) throw new ProblemsError(problems);
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * The user the stock `user` directive names must exist: nginx would refuse to start (and
 * `nginx -t` to pass) with `getpwnam(...) failed`. Nothing is created; the fix is the admin's.
 */
async function checkWorkerUser(
  templates: readonly { text: string }[],
  vars: ReadonlyMap<string, string>,
  deps: Pick<GenerateDeps, 'userExists'>,
): Promise<void> {
  if (deps.userExists === undefined || vars.get('stock.main.user.enabled') !== '') return;
  if (!templates.some((t) => t.text.includes('${stock.main.user}'))) return;
  // The name as the variable validated and rendered it (`<user> <group>`).
  const user = (vars.get('stock.main.user') ?? '').split(' ')[0] ?? '';
  if (user === '' || (await deps.userExists(user))) return;
  throw new ProblemsError([
    {
      subject: WORKER_USER_KEY,
      entry: 'localconfig',
      message: `nginx's workers would run as user "${user}", which does not exist on this host`,
      value: user,
      hint: `create it (useradd --system ${user}), or zmlocalconfig -e ${WORKER_USER_KEY}=nobody, or zmlocalconfig -u ${WORKER_USER_KEY} for nginx's default user`,
    },
  ]);
}

/** The localconfig key naming the group nginx's workers run as (Debian's nginx: nogroup). */
export const NGINX_GROUP_KEY = 'zmproxy_nginx_group';

/**
 * With certificates chosen by map, nginx's workers (not the root master) open the domain keys at
 * each handshake: the keys become mode 0640 in the workers' group. A group that does not exist is
 * a problem with the fix, never created silently.
 */
async function workerReadableKeys(
  files: readonly PlannedFile[],
  web: StockWebSites,
  paths: ResolvedPaths,
  deps: Pick<GenerateDeps, 'groupId' | 'localConfig'>,
): Promise<PlannedFile[]> {
  if (web.selection !== 'map' || deps.groupId === undefined) return [...files];
  const isDomainKey = (path: string) =>
    path.startsWith(`${paths.domainCertDir}/`) && path.endsWith('.key');
  if (!files.some((file) => isDomainKey(file.path))) return [...files];
  const own = deps.localConfig.get(NGINX_GROUP_KEY);
  const group = own !== undefined && own !== '' ? own : 'nogroup';
  const gid = await deps.groupId(group);
  if (gid === undefined) {
    throw new ProblemsError([
      {
        subject: NGINX_GROUP_KEY,
        entry: 'localconfig',
        message: `certificates are chosen by map, so nginx's workers read the domain keys, but there is no group "${group}" for them`,
        hint: `set localconfig ${NGINX_GROUP_KEY} to the group nginx's workers run as (zmlocalconfig -e ${NGINX_GROUP_KEY}=nogroup), or zmlocalconfig -e zmproxy_certificate_selection=static`,
      },
    ]);
  }
  return files.map((file) => (isDomainKey(file.path) ? { ...file, mode: 0o640, gid } : file));
}
