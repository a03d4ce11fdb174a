/**
 * One doctor run: load the directory, resolve the names that matter, probe (TCP, logs,
 * certificates, templates) through the ports given, run every check, and return the report.
 * The checks are pure (src/doctor/checks/); the probes are passed in, so tests run the whole
 * doctor without a network.
 */
import type { LocalConfig } from '../model/localconfig-defaults.js';
import type { PathOptions, ResolvedPaths } from '../model/paths.js';
import { LOCALCONFIG_DEFAULTS } from '../model/localconfig-defaults.js';
import type { LookupTopology } from '../model/lookup-topology.js';
import type { DirectorySnapshot } from '../model/snapshot.js';
import { ProxyConfError } from '../errors.js';
import { resolvePaths } from '../model/paths.js';
import { entryName } from '../model/snapshot.js';
import { formatProblem } from '../errors.js';
import type { DirectorySource, HostResolver } from '../ports.js';
import { buildVarContext, localServerName } from '../vars/context.js';
import { checkCertificates, computeCertificatePairs } from './checks/certificates.js';
import { checkExternalRoutes } from './checks/external-routes.js';
import { checkLookupHandlers } from './checks/lookup-handlers.js';
import { checkLookupService, lookupServiceUrls } from './checks/lookup-service.js';
import { readLookupTopology } from '../model/lookup-topology.js';
import { computeLookupHandlers } from '../vars/lookup.js';
import type { LogInput } from './checks/nginx-logs.js';
import { checkNginxLogs, nginxLocalTime, summarizeLogs } from './checks/nginx-logs.js';
import { checkReachability } from './checks/reachability.js';
import { checkRestUrls } from './checks/rest-urls.js';
import { checkSslUpstream } from './checks/ssl-upstream.js';
import type { TemplateFacts } from './checks/trusted-ips.js';
import { checkTrustedIps } from './checks/trusted-ips.js';
import { checkUpstreamTimeouts } from './checks/upstream-timeouts.js';
import type { DoctorReport, Finding } from './finding.js';
import { okFinding, orderFindings, summarizeFindings } from './finding.js';
import type { CertificateFacts, CertificatePair } from './probes/certificates.js';
import type { FileRead } from './probes/files.js';
import type { TcpAnswer, TcpQuestion } from './probes/tcp.js';
import { collectServerHostnames, computeProbeTargets } from './targets.js';

/** How a log event reads in the upstream-timeout advice. */
const LOG_EVENT_TEXT: Partial<Record<string, string>> = {
  'no-route': 'No route to host',
  timeout: 'upstream timed out',
  refused: 'connection refused',
  tls: 'TLS handshake failed',
  'login-unavailable': 'Login service temporarily unavailable',
  reset: 'connection reset by peer',
};

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
  const base0 = resolvePaths(options.paths);
  const managed = await deps.probes.exists(base0.liveDir);
  const paths = managed ? resolvePaths({ ...options.paths, generationLayout: true }) : base0;
  let snapshot: DirectorySnapshot;
  try {
    snapshot = await deps.source.load();
  } catch (error) {
    return await runWithoutDirectory(error, options, deps, { paths, managed });
  }
  const facts = { dhparamExists: await deps.probes.exists(paths.dhparamFile) };
  // The generator's context, plus the upstream hosts the probes connect to.
  const handle = await buildVarContext(
    { snapshot, serverName: options.serverName, localConfig: deps.localConfig, paths, facts },
    deps.resolver,
    collectServerHostnames,
  );
  const { ctx, serverSource } = handle;

  const findings: Finding[] = [...checkLookupHandlers(ctx)];

  const topology = readLookupTopology((key) => ctx.lc.text(key)).topology;
  findings.push(
    ...(await probeLookupService(deps.probes, topology, {
      workdir: paths.workdir,
      listen: ctx.lc.text('zmproxy_auth_http_listen'),
      mail: computeLookupHandlers(ctx).length > 0,
    })),
  );

  const targets = computeProbeTargets(ctx, { lookupHandlers: topology.kind === 'nle' });
  const answers = await deps.probes.connect(
    targets.flatMap((t) => (t.address === undefined ? [] : [{ address: t.address, port: t.port }])),
    options.timeoutMs ?? 3000,
  );
  const reachability = checkReachability(targets, answers);
  findings.push(...reachability);

  const logGiven = options.logFiles !== undefined && options.logFiles.length > 0;
  const logPaths = logGiven
    ? [...(options.logFiles ?? [])]
    : [`${paths.logDir}/nginx.log`, `${paths.logDir}/nginx.access.log`];
  const logInputs: LogInput[] = (await deps.probes.readLogs(logPaths)).map((read) => ({
    read,
    given: logGiven,
  }));
  const servedSince = await servedGenerationSince(deps.probes, paths, managed);
  findings.push(...checkNginxLogs(logInputs, servedSince));

  const seen: string[] = [];
  const logSummary = summarizeLogs(
    logInputs.flatMap((i) => (i.read.ok ? [i.read.text] : [])),
    servedSince === undefined ? undefined : nginxLocalTime(servedSince),
  );
  for (const [event, entry] of logSummary.events) {
    if (event !== '500')
      seen.push(`${entry.count} × ${LOG_EVENT_TEXT[event] ?? `HTTP ${event}`} in the logs`);
  }
  for (const finding of reachability) {
    if (finding.severity === 'fail' && !finding.evidence.startsWith('DNS:')) {
      seen.push(`${finding.subject.replace(/^server /, '')} unreachable`);
    }
  }
  findings.push(...checkUpstreamTimeouts(ctx, { seen }));

  const certificates = await deps.probes.readCertificates(computeCertificatePairs(ctx));
  findings.push(
    ...checkCertificates(certificates, deps.now(), { managed, workdir: paths.workdir }),
  );
  findings.push(...checkExternalRoutes(ctx));
  const templates = await deps.probes.readTemplates(paths.templateDir, paths.templatePrefix);
  findings.push(...checkTrustedIps(ctx, templates));
  findings.push(...checkSslUpstream(ctx));
  findings.push(...checkRestUrls(ctx));

  // Values the generator itself would refuse (collected while the checks read the directory).
  for (const problem of handle.problems) {
    findings.push({
      check: 'directory',
      severity: 'fail',
      subject: problem.entry,
      evidence: formatProblem(problem),
      explanation: 'zmproxyconfgen refuses to generate while the directory holds this value',
      fix: problem.hint ?? null,
    });
  }
  if (handle.problems.length === 0) {
    findings.push(okFinding('directory', 'directory', 'every value the generator reads parses'));
  }

  const ordered = orderFindings(findings);
  return {
    version: 1,
    server: entryName(serverSource),
    findings: ordered,
    summary: summarizeFindings(ordered),
  };
}

/** The lookup-service check with its probes (none when the probes are not given). */
async function probeLookupService(
  probes: DoctorProbes,
  topology: LookupTopology,
  where: { workdir: string; listen: string; mail: boolean },
): Promise<Finding[]> {
  const { lookupHealth, authHttp } = probes;
  if (lookupHealth === undefined || authHttp === undefined || topology.kind === 'nle') return [];
  const health = await Promise.all(
    lookupServiceUrls(topology).map(async (url) => ({ url, error: await lookupHealth(url) })),
  );
  return checkLookupService({
    topology,
    workdir: where.workdir,
    health,
    authHttp: where.mail
      ? { listen: where.listen, ...(await authHttp(where.listen, topology.sharedKey)) }
      : undefined,
  });
}

/**
 * The report when the directory cannot be read: that failure, and every check that does not
 * need it (the lookup service, nginx's logs, the default certificate).
 */
async function runWithoutDirectory(
  error: unknown,
  options: DoctorOptions,
  deps: DoctorDeps,
  layout: { paths: ResolvedPaths; managed: boolean },
): Promise<DoctorReport> {
  const { paths } = layout;
  const lc = (key: string): string => {
    const own = deps.localConfig.get(key);
    return own !== undefined && own !== '' ? own : (LOCALCONFIG_DEFAULTS[key] ?? '');
  };
  const findings: Finding[] = [
    {
      check: 'directory',
      severity: 'fail',
      subject: 'directory',
      evidence: `cannot read the directory: ${error instanceof Error ? error.message : String(error)}`,
      explanation:
        'the checks that need the directory were skipped (lookup handlers, reachability, upstream timeouts, domain certificates, external routes, trusted IPs, SSL to upstream, REST URLs); nginx keeps serving its last generation, and zmproxyconfgen --apply changes nothing until the directory answers',
      fix:
        error instanceof ProxyConfError && error.hint !== undefined
          ? error.hint
          : `zmlocalconfig -w ${paths.workdir} ldap_url zimbra_ldap_userdn`,
    },
  ];
  const { topology } = readLookupTopology(lc);
  findings.push(
    ...(await probeLookupService(deps.probes, topology, {
      workdir: paths.workdir,
      listen: lc('zmproxy_auth_http_listen'),
      mail: true,
    })),
  );
  const logPaths =
    options.logFiles !== undefined && options.logFiles.length > 0
      ? [...options.logFiles]
      : [`${paths.logDir}/nginx.log`, `${paths.logDir}/nginx.access.log`];
  const given = options.logFiles !== undefined && options.logFiles.length > 0;
  findings.push(
    ...checkNginxLogs(
      (await deps.probes.readLogs(logPaths)).map((read) => ({ read, given })),
      await servedGenerationSince(deps.probes, paths, layout.managed),
    ),
  );
  const certificates = await deps.probes.readCertificates([
    { subject: 'default', certPath: paths.sslCrtDefault, keyPath: paths.sslKeyDefault },
  ]);
  findings.push(
    ...checkCertificates(certificates, deps.now(), {
      managed: layout.managed,
      workdir: paths.workdir,
    }),
  );
  const ordered = orderFindings(findings);
  return {
    version: 1,
    server: options.serverName ?? localServerName(deps.localConfig),
    findings: ordered,
    summary: summarizeFindings(ordered),
  };
}

/**
 * When `--apply` last switched the served generation (the `current` symlink is replaced by one
 * rename): the log check's cut-off when nginx's error log holds no start or reload notice.
 */
async function servedGenerationSince(
  probes: DoctorProbes,
  paths: ResolvedPaths,
  managed: boolean,
): Promise<number | undefined> {
  return managed ? await probes.modifiedAt?.(paths.liveDir) : undefined;
}
