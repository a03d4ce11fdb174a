/**
 * One doctor run: gather the inputs the checks need (the directory through the generator's
 * context, then TCP, logs, certificates, templates, the served files, through the probes given),
 * and run every registered check (src/doctor/checks/index.ts) whose inputs are there. The checks
 * are pure; the probes are passed in, so tests run the whole doctor without a network. Without
 * the directory, the checks that need it are skipped and the failure says which.
 */
import { join } from 'node:path';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import type { PathOptions, ResolvedPaths } from '../model/paths.js';
import { LOCALCONFIG_DEFAULTS } from '../model/localconfig-defaults.js';
import type { LookupTopology } from '../model/lookup-topology.js';
import { readLookupTopology } from '../model/lookup-topology.js';
import type { DirectorySnapshot } from '../model/snapshot.js';
import { effectiveAuthHttpListen } from '../vars/bind-address.js';
import { computeEveryValue } from '../vars/compute-all.js';
import { entryName, PROXY_CONFIG_ATTRIBUTES, PROXY_CONFIG_KINDS } from '../model/snapshot.js';
import type { Problem } from '../errors.js';
import { ProxyConfError } from '../errors.js';
import { resolvePaths, TEMPLATE_SET_MARKER } from '../model/paths.js';
import type { DirectorySource, HostResolver } from '../ports.js';
import { buildVarContext, localServerName } from '../vars/context.js';
import { computeLookupHandlers } from '../vars/lookup.js';
import type { CheckInputs } from './check.js';
import { computeCertificatePairs } from './checks/certificates.js';
import { commercialPaths } from './checks/commercial-certificate.js';
import { DIRECTORY_CHECK_ID } from './checks/directory-values.js';
import { DOCTOR_CHECKS } from './checks/index.js';
import type { LookupServiceFacts } from './checks/lookup-service.js';
import { lookupServiceUrls } from './checks/lookup-service.js';
import type { TemplateFacts } from './checks/trusted-ips.js';
import type { DoctorReport, Finding } from './finding.js';
import { orderFindings, summarizeFindings } from './finding.js';
import type { CertificateFacts, CertificatePair } from './probes/certificates.js';
import type { FileRead } from './probes/files.js';
import type { FileOwnership } from './probes/ownership.js';
import type { TcpAnswer, TcpQuestion } from './probes/tcp.js';
import { collectServerHostnames, computeProbeTargets } from './targets.js';

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** The proxy server to check for, by name or zimbraId. @default localconfig zimbra_server_hostname */
  serverName?: string | undefined;
  /** Work directory and template directory (certificate and log paths follow the work directory). */
  paths?: PathOptions;
  /** Logs to read; @default `<workdir>/log/nginx.log` and `<workdir>/log/nginx.access.log` */
  logFiles?: readonly string[] | undefined;
  /** Milliseconds each TCP connect may take. @default 3000 */
  timeoutMs?: number;
}

/** The probes: every bit of I/O the checks need besides the directory and DNS. */
export interface DoctorProbes {
  connect(questions: readonly TcpQuestion[], timeoutMs: number): Promise<TcpAnswer[]>;
  readLogs(paths: readonly string[]): Promise<FileRead[]>;
  readCertificates(pairs: readonly CertificatePair[]): Promise<CertificateFacts[]>;
  readTemplates(dir: string, templatePrefix: string): Promise<TemplateFacts>;
  exists(path: string): Promise<boolean>;
  /** When the path (the served tree's symlink itself) last changed, in ms; undefined when absent. */
  modifiedAt?: (path: string) => Promise<number | undefined>;
  /** GET `<url>/healthz`: undefined when it answers 200, else what went wrong. Absent: not probed. */
  lookupHealth?: (url: string) => Promise<string | undefined>;
  /** One auth_http request to nginx's loopback auth server: its Auth-Status, or the error. */
  authHttp?: (listen: string, sharedKey: string) => Promise<{ status?: string; error?: string }>;
  /** Whole text files (the served configuration, /etc/passwd, /etc/group). */
  readFiles(paths: readonly string[]): Promise<FileRead[]>;
  /** Owner, group and mode of each file. */
  ownership(paths: readonly string[]): Promise<FileOwnership[]>;
}

/** The adapters {@link runDoctor} uses. */
export interface DoctorDeps {
  source: DirectorySource;
  localConfig: LocalConfig;
  resolver: HostResolver;
  probes: DoctorProbes;
  /** Milliseconds since the epoch (certificate expiry). */
  now: () => number;
}

/** Runs every check and returns the report; without the directory, the checks that need none. */
export async function runDoctor(options: DoctorOptions, deps: DoctorDeps): Promise<DoctorReport> {
  // A work directory zmproxyconfgen --apply manages: nginx serves conf/nginx/current.
  const base = resolvePaths(options.paths);
  const managed = await deps.probes.exists(base.liveDir);
  const paths = managed ? resolvePaths({ ...options.paths, generationLayout: true }) : base;
  const localConfig = (key: string): string => {
    const own = deps.localConfig.get(key);
    return own !== undefined && own !== '' ? own : (LOCALCONFIG_DEFAULTS[key] ?? '');
  };
  const inputs: Partial<CheckInputs> = {
    layout: { paths, managed },
    now: deps.now(),
    localConfig,
  };
  const findings: Finding[] = [];
  let server: string;
  let pairs: CertificatePair[] = [
    { subject: 'default', certPath: paths.sslCrtDefault, keyPath: paths.sslKeyDefault },
  ];
  let snapshot: DirectorySnapshot | undefined;
  try {
    snapshot = await deps.source.load(PROXY_CONFIG_KINDS, PROXY_CONFIG_ATTRIBUTES);
  } catch (error) {
    findings.push(directoryFailure(error, paths.workdir));
  }
  if (snapshot === undefined) {
    server = options.serverName ?? localServerName(deps.localConfig);
    inputs.lookupService = await probeLookupService(
      deps.probes,
      readLookupTopology(localConfig).topology,
      {
        workdir: paths.workdir,
        listen: effectiveAuthHttpListen(localConfig),
        mail: true,
      },
    );
  } else {
    const facts = { dhparamExists: await deps.probes.exists(paths.dhparamFile) };
    // The generator's context, plus the upstream hosts the probes connect to.
    const handle = await buildVarContext(
      { snapshot, serverName: options.serverName, localConfig: deps.localConfig, paths, facts },
      deps.resolver,
      collectServerHostnames,
    );
    const { ctx } = handle;
    server = entryName(handle.serverSource);
    inputs.directory = ctx;
    const topology = readLookupTopology((key) => ctx.lc.text(key)).topology;
    inputs.lookupService = await probeLookupService(deps.probes, topology, {
      workdir: paths.workdir,
      listen: effectiveAuthHttpListen((key) => ctx.lc.text(key)),
      mail: computeLookupHandlers(ctx).length > 0,
    });
    const targets = computeProbeTargets(ctx, {
      lookupHandlers: topology.kind === 'nle',
      stockSet: await deps.probes.exists(join(paths.templateDir, TEMPLATE_SET_MARKER)),
    });
    const answers = await deps.probes.connect(
      targets.flatMap((t) =>
        t.address === undefined ? [] : [{ address: t.address, port: t.port }],
      ),
      options.timeoutMs ?? 3000,
    );
    inputs.reachability = { targets, answers };
    pairs = computeCertificatePairs(ctx);
    // Read last: what the checks above found while reading the directory, and every other value
    // a generation computes (the doctor says all that zmproxyconfgen would refuse).
    const clashes = computeEveryValue(ctx, server);
    inputs.directoryProblems = dedupeProblems([...handle.problems, ...clashes]);
  }

  const logGiven = options.logFiles !== undefined && options.logFiles.length > 0;
  const logPaths = logGiven
    ? [...(options.logFiles ?? [])]
    : [`${paths.logDir}/nginx.log`, `${paths.logDir}/nginx.access.log`];
  inputs.logs = {
    inputs: (await deps.probes.readLogs(logPaths)).map((read) => ({ read, given: logGiven })),
    servedSince: managed ? await deps.probes.modifiedAt?.(paths.liveDir) : undefined,
  };
  inputs.certificates = await deps.probes.readCertificates(pairs);
  const commercial = commercialPaths(paths.workdir);
  const [commercialFacts] = await deps.probes.readCertificates([
    { subject: 'commercial', certPath: commercial.certPath, keyPath: commercial.keyPath },
  ]);
  inputs.commercialCertificate = commercialFacts;
  inputs.templates = await deps.probes.readTemplates(paths.templateDir, paths.templatePrefix);
  const [mainConfig, lookupConfig, certificatesConfig, passwd, group] = await deps.probes.readFiles(
    [
      servedFile(paths, managed, ''),
      servedFile(paths, managed, '.zmlookup'),
      servedFile(paths, managed, '.web.certificates'),
      '/etc/passwd',
      '/etc/group',
    ],
  );
  if (mainConfig && lookupConfig && certificatesConfig && passwd && group) {
    inputs.served = { mainConfig, lookupConfig, certificatesConfig };
    inputs.accounts = { passwd, group };
  }
  inputs.keyFiles = await deps.probes.ownership([...new Set(pairs.map((pair) => pair.keyPath))]);

  for (const check of DOCTOR_CHECKS) {
    if (check.needs.every((need) => inputs[need] !== undefined)) {
      findings.push(...check.run(inputs as CheckInputs));
    }
  }
  const ordered = orderFindings(
    findings,
    DOCTOR_CHECKS.map((check) => check.id),
  );
  return { version: 1, server, findings: ordered, summary: summarizeFindings(ordered) };
}

/** A file of the tree nginx serves: `<prefix><suffix>`, the main file for an empty suffix. */
function servedFile(paths: ResolvedPaths, managed: boolean, suffix: string): string {
  const root = managed ? paths.liveDir : paths.confDir;
  if (suffix === '') return `${root}/${paths.configPrefix}`;
  const includes = paths.includesDir.startsWith('/')
    ? paths.includesDir
    : `${root}/${paths.includesDir}`;
  return `${includes}/${paths.configPrefix}${suffix}`;
}

/** The failure filed when the directory cannot be read, naming the checks that were skipped. */
function directoryFailure(error: unknown, workdir: string): Finding {
  const skipped = DOCTOR_CHECKS.filter((check) => check.needs.includes('directory')).map((check) =>
    check.title.toLowerCase(),
  );
  return {
    check: DIRECTORY_CHECK_ID,
    severity: 'fail',
    subject: 'directory',
    evidence: `cannot read the directory: ${error instanceof Error ? error.message : String(error)}`,
    explanation: `the checks that need the directory were skipped (${skipped.join(', ')}); nginx keeps serving its last generation, and zmproxyconfgen --apply changes nothing until the directory answers`,
    fix:
      error instanceof ProxyConfError && error.hint !== undefined
        ? error.hint
        : `zmlocalconfig -w ${workdir} ldap_url zimbra_ldap_userdn`,
  };
}

/** The lookup-service facts from its probes (undefined when the probes are not given, or with nle). */
async function probeLookupService(
  probes: DoctorProbes,
  topology: LookupTopology,
  where: { workdir: string; listen: string; mail: boolean },
): Promise<LookupServiceFacts | undefined> {
  const { lookupHealth, authHttp } = probes;
  if (lookupHealth === undefined || authHttp === undefined || topology.kind === 'nle') {
    return undefined;
  }
  const health = await Promise.all(
    lookupServiceUrls(topology).map(async (url) => ({ url, error: await lookupHealth(url) })),
  );
  return {
    topology,
    workdir: where.workdir,
    health,
    authHttp: where.mail
      ? { listen: where.listen, ...(await authHttp(where.listen, topology.sharedKey)) }
      : undefined,
  };
}

/** The same problem found by two computations is reported once. */
function dedupeProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.subject}\0${problem.entry}\0${problem.message}\0${problem.value ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
