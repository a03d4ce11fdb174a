/**
 * `zmproxyconfgen` (= `zmproxy confgen`): Zimbra's flags (docs/zimbra-notes.md "zmproxyconfgen")
 * plus --source, --localconfig,
 * --hosts, --diff, --check, --json, --lenient, --marker, and the rewrite loop: --apply (one run)
 * and --watch (the daemon). Thin: parse, build the adapters, call the engine, print.
 */
import { lookupGroupId } from '../writer/groups.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile, unlink } from 'node:fs/promises';
import type { Warning } from '../errors.js';
import { formatProblem, formatWarning, ProblemsError, ProxyConfError } from '../errors.js';
import type { Generation } from '../engine/generate.js';
import { computeGenerationVariables, generate } from '../engine/generate.js';
import type { FileChange } from '../plan/plan-changes.js';
import { FLAT_MANIFEST_FILE, formatDiff, planChanges } from '../plan/plan-changes.js';
import { formatDefinitions, parseOverrides } from '../vars/registry.js';
import { createFileStore } from '../writer/file-store.js';
import { createTemplateStore } from '../writer/template-store.js';
import type { ApplyDeps, ApplyOptions, ApplyOutcome, ApplyResult } from '../engine/apply.js';
import { computeGenerationFiles, runApply } from '../engine/apply.js';
import { APPLY_OUTCOME_RULES, applyExitSummary } from '../engine/apply-outcomes.js';
import { checkGenerationCertificates } from '../engine/certificate-guard.js';
import {
  certificateFactsPath,
  createCertificateFactsFile,
} from '../writer/certificate-facts-file.js';
import { assertNginxCanResolve } from '../engine/nginx-names.js';
import { assertWorkdirSetUp, lookupUser } from '../reload/workdir-setup.js';
import { WORKER_USER_KEY } from '../vars/worker-user.js';
import { formatApplyMetrics } from '../engine/apply-metrics.js';
import { runWatch } from '../engine/watch.js';
import { existsSync } from 'node:fs';
import { resolveLikeNginx } from '../sources/dns/resolve-hostnames.js';
import { resolvePaths } from '../model/paths.js';
import type { ApplyStateStore } from '../ports.js';
import { createApplyStateStore, writeTextAtomic } from '../reload/apply-state-file.js';
import { createGenerationStore } from '../reload/generation-store.js';
import { createInputFingerprint, readContextCsnRevision } from '../reload/input-probe.js';
import type { FleetIdentity } from '../engine/fleet-identity.js';
import { withFleetIdentity } from '../engine/fleet-identity.js';
import { canaryGateFor, fleetMetricsText, recordRunStatus } from './shared/fleet-run.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import { startMetricsServer } from '../reload/metrics-server.js';
import { checkModuleTrust } from '../reload/module-trust.js';
import { createNginxControl } from '../reload/nginx-control.js';
import { createRunLock } from '../reload/run-lock.js';
import { createSystemClock } from '../reload/system-clock.js';
import { ldifGlobDirs, parseSourceSpec } from '../sources/ldif/index.js';
import type { CliIo } from './shared/io.js';
import {
  createDirectorySource,
  createHostResolver,
  loadLocalConfig,
  localConfigFileFor,
  localConfigText,
  resolveLdapOptions,
} from './shared/inputs.js';
import type { FlagTable } from './shared/parse-command-args.js';
import {
  DIRECTORY_FLAGS,
  formatFlagHelp,
  HOSTS_FLAGS,
  parseFlags,
  usageError,
} from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';

/** The template set bundled with zmproxy (stock nginx), the default for -t. */
export const BUNDLED_TEMPLATE_DIR = fileURLToPath(new URL('../../templates', import.meta.url));

const USAGE = `zmproxyconfgen [options]

Generates the nginx proxy configuration from the Zimbra directory.
By default it renders zmproxy's templates for stock nginx; give -t DIR to render Zimbra's own
templates (/opt/zimbra/conf/nginx/templates) exactly as ProxyConfGen does.

--apply publishes a new generation in <workdir>/conf/nginx/generations/<id> after nginx -t,
switches <workdir>/conf/nginx/current to it and reloads nginx; --watch does so whenever the
inputs change. Exit codes of --apply: ${applyExitSummary()}, 2 usage.`;

/** Exit codes of `--apply` (the other modes keep 0 ok, 1 error, 2 usage, 3 --check differs). */
export const APPLY_EXIT: Readonly<Record<ApplyOutcome, number>> = Object.fromEntries(
  Object.entries(APPLY_OUTCOME_RULES).map(([outcome, rule]) => [outcome, rule.exit]),
) as Record<ApplyOutcome, number>;

/** Runs zmproxyconfgen with `argv` (without the program name); returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const args = parseConfgenArgs(argv, io);
    if (typeof args === 'number') return args;
    debug = args.debug;
    return await execute(args, io);
  } catch (error) {
    return reportError(error, io, debug);
  }
}

type Args = Exclude<ReturnType<typeof parseConfgenArgs>, number>;

/** A flag holding a number of seconds (checked by parseConfgenArgs). */
function secondsFlag(fallback: string, help: string) {
  return { type: 'string', arg: 'S', default: fallback, help } as const;
}

/**
 * zmproxyconfgen's flags, one table: Zimbra's short flags with their long forms
 * (docs/zimbra-notes.md "zmproxyconfgen"), the shared directory flags, then ours. `-h` prints
 * them from here; a new flag is one more row (and its reading in {@link parseConfgenArgs}).
 */
export const CONFGEN_FLAGS = {
  help: { type: 'boolean', short: 'h', help: 'this help' },
  verbose: { type: 'boolean', short: 'v', help: 'print what is done, file by file' },
  workdir: { ...DIRECTORY_FLAGS.workdir, default: '/opt/zimbra' },
  templatedir: {
    type: 'string',
    short: 't',
    arg: 'DIR',
    help: "template directory (default: zmproxy's stock nginx templates)",
  },
  'dry-run': { type: 'boolean', short: 'n', help: 'render everything, write nothing' },
  defaults: {
    type: 'boolean',
    short: 'd',
    help: 'print every variable with its default, then exit',
  },
  definitions: {
    type: 'boolean',
    short: 'D',
    help: 'print every variable with its current value, then exit',
  },
  prefix: {
    type: 'string',
    short: 'p',
    arg: 'NAME',
    default: 'nginx.conf',
    help: 'config file prefix (default nginx.conf)',
  },
  'template-prefix': {
    type: 'string',
    short: 'P',
    arg: 'NAME',
    help: 'template file prefix (default: the config prefix)',
  },
  'include-dir': {
    type: 'string',
    short: 'i',
    arg: 'REL',
    default: 'nginx/includes',
    help: 'includes directory, relative to <workdir>/conf (default nginx/includes)',
  },
  server: {
    type: 'string',
    short: 's',
    arg: 'NAME',
    help: 'generate for this server (name or zimbraId)',
  },
  'force-dns-resolution': {
    type: 'boolean',
    short: 'f',
    help: 'fail when a virtual host name does not resolve',
  },
  config: {
    type: 'string',
    short: 'c',
    multiple: true,
    arg: 'name=value',
    default: [],
    help: 'override a variable (repeatable)',
  },
  source: DIRECTORY_FLAGS.source,
  localconfig: DIRECTORY_FLAGS.localconfig,
  'bind-dn': DIRECTORY_FLAGS['bind-dn'],
  'bind-password-file': DIRECTORY_FLAGS['bind-password-file'],
  ...HOSTS_FLAGS,
  diff: { type: 'boolean', help: 'print a unified diff of what would change; write nothing' },
  check: {
    type: 'boolean',
    help: 'exit 3 when any output differs from disk, 0 when identical; write nothing',
  },
  json: { type: 'boolean', help: 'print the result as JSON' },
  lenient: {
    type: 'boolean',
    help: 'unknown template variables expand to "" (Zimbra\'s behaviour)',
  },
  marker: { type: 'boolean', help: 'append #__SUCCESS__ to nginx.conf, as ProxyConfGen does' },
  apply: {
    type: 'boolean',
    help: 'publish a tested generation and reload nginx (see the exit codes above)',
  },
  watch: { type: 'boolean', help: 'run as a daemon: --apply whenever the inputs change' },
  interval: secondsFlag('10', '--watch: seconds between two polls of the inputs (default 10)'),
  'full-interval': secondsFlag(
    '300',
    '--watch: a full render at least this often, in seconds (default 300)',
  ),
  splay: secondsFlag('0', '--apply: wait a random 0..S seconds first (cron on many proxies)'),
  'canary-wait': secondsFlag(
    '0',
    '--apply/--watch: publish a new revision only after the canary (localconfig zmproxy_canary_server) served it S seconds (exit 18 meanwhile)',
  ),
  'min-reload-interval': secondsFlag(
    '5',
    'seconds between two reloads; later changes wait and are coalesced (default 5)',
  ),
  'lock-wait': secondsFlag(
    '0',
    'seconds to wait for another run to finish before giving up (exit 16)',
  ),
  'max-shrink': {
    type: 'string',
    arg: 'SHARE',
    default: '0.5',
    help: 'refuse to publish when a lookup handler or upstream list shrinks by more than this share (default 0.5)',
  },
  force: {
    type: 'boolean',
    help: 'publish even when the sanity guard or the certificate checks object',
  },
  keep: { type: 'string', arg: 'N', default: '5', help: 'generations kept on disk (default 5)' },
  nginx: {
    type: 'string',
    arg: 'PATH',
    default: 'nginx',
    help: 'the nginx binary (default: nginx on PATH)',
  },
  'test-timeout': secondsFlag('30', 'seconds nginx -t may take (default 30)'),
  'reload-timeout': secondsFlag(
    '10',
    'seconds nginx may take to serve the new generation after the reload (default 10)',
  ),
  reload: {
    type: 'boolean',
    default: true,
    negatable: true,
    help: 'reload nginx after publishing (--no-reload: publish only)',
  },
  'metrics-file': {
    type: 'string',
    arg: 'FILE',
    help: 'write Prometheus metrics to FILE after each run (node_exporter textfile)',
  },
  'metrics-listen': {
    type: 'string',
    arg: 'HOST:PORT',
    help: '--watch: serve Prometheus metrics on HOST:PORT (/metrics, /healthz)',
  },
  debug: { type: 'boolean', help: 'show stack traces' },
} as const satisfies FlagTable;

const PROGRAM = 'zmproxyconfgen';

/** A number flag's value; anything else is a usage error naming the flag. */
function numberFlag(values: Readonly<Record<string, unknown>>, name: string): number {
  const text = String(values[name]);
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw usageError(`--${name} needs a number (got "${text}")`, PROGRAM);
  }
  return value;
}

/** The command line of zmproxyconfgen, checked; EXIT.ok after printing `-h`. */
export function parseConfgenArgs(argv: readonly string[], io: CliIo) {
  const { values: parsed, positionals } = parseFlags(argv, CONFGEN_FLAGS, PROGRAM, true);
  if (parsed.help === true) {
    io.stdout(`${USAGE}\n\noptions:\n${formatFlagHelp(CONFGEN_FLAGS)}`);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw usageError(`unexpected argument ${positionals[0] ?? ''}`, PROGRAM);
  }
  const flag = (name: keyof typeof parsed): boolean => parsed[name] === true;
  if (
    ['diff', 'check', 'dry-run', 'apply', 'watch'].filter((name) => flag(name as 'diff')).length > 1
  ) {
    throw new ProxyConfError(
      'E_USAGE',
      '--diff, --check, -n, --apply and --watch exclude each other',
      { hint: 'give one of them' },
    );
  }
  const apply = flag('apply');
  const watch = flag('watch');
  if ((apply || watch) && parsed['include-dir'] !== 'nginx/includes') {
    throw new ProxyConfError('E_USAGE', '-i cannot be combined with --apply or --watch', {
      hint: 'a generation keeps its includes in <workdir>/conf/nginx/generations/<id>/includes',
    });
  }
  const seconds = (name: keyof typeof parsed): number => {
    const value = numberFlag(parsed, name);
    if (value < 0) {
      throw usageError(`--${name} must be a number of seconds (got ${String(value)})`, PROGRAM);
    }
    return value;
  };
  const maxShrink = numberFlag(parsed, 'max-shrink');
  if (!(maxShrink >= 0 && maxShrink <= 1)) {
    throw usageError(`--max-shrink must be between 0 and 1 (got ${String(maxShrink)})`, PROGRAM);
  }
  const keep = numberFlag(parsed, 'keep');
  if (!Number.isInteger(keep) || keep < 2) {
    throw new ProxyConfError(
      'E_USAGE',
      `--keep must be an integer of at least 2 (got ${String(keep)})`,
      { hint: 'the previous generation is what a failed reload rolls back to' },
    );
  }
  if (parsed['metrics-listen'] !== undefined && !watch) {
    throw new ProxyConfError('E_USAGE', '--metrics-listen needs --watch', {
      hint: 'a one-shot run writes --metrics-file instead',
    });
  }
  return {
    verbose: flag('verbose'),
    // Absolute: nginx resolves a relative include against its own prefix, not our cwd.
    workdir: resolve(parsed.workdir),
    templateDir: resolve(parsed.templatedir ?? BUNDLED_TEMPLATE_DIR),
    dryRun: flag('dry-run'),
    defaults: flag('defaults'),
    definitions: flag('definitions'),
    prefix: parsed.prefix,
    templatePrefix: parsed['template-prefix'],
    includeDir: parsed['include-dir'],
    server: parsed.server,
    forceDns: flag('force-dns-resolution'),
    config: parsed.config,
    source: parsed.source,
    localconfig: parsed.localconfig,
    hosts: parsed.hosts,
    hostsOnly: flag('hosts-only'),
    bindDn: parsed['bind-dn'],
    bindPasswordFile: parsed['bind-password-file'],
    diff: flag('diff'),
    check: flag('check'),
    json: flag('json'),
    lenient: flag('lenient'),
    marker: flag('marker'),
    debug: flag('debug'),
    apply,
    watch,
    intervalMs: seconds('interval') * 1000,
    fullIntervalMs: seconds('full-interval') * 1000,
    splaySeconds: seconds('splay'),
    canaryWaitMs: seconds('canary-wait') * 1000,
    minReloadIntervalMs: seconds('min-reload-interval') * 1000,
    lockWaitMs: seconds('lock-wait') * 1000,
    maxShrink,
    force: flag('force'),
    keep,
    nginx: parsed.nginx,
    testTimeoutMs: seconds('test-timeout') * 1000,
    reloadTimeoutMs: seconds('reload-timeout') * 1000,
    noReload: parsed.reload === false,
    metricsFile: parsed['metrics-file'],
    metricsListen: parsed['metrics-listen'],
  };
}

async function execute(args: Args, io: CliIo): Promise<number> {
  if (args.defaults) {
    io.stdout(formatDefinitions());
    return EXIT.ok;
  }
  const { overrides, errors } = parseOverrides(args.config);
  if (errors.length > 0) {
    throw new ProxyConfError('E_USAGE', errors.join('; '), {
      hint: 'write each override as -c name=value',
    });
  }
  const files = createFileStore();
  const options = {
    paths: {
      workdir: args.workdir,
      templateDir: args.templateDir,
      includeDir: args.includeDir,
      configPrefix: args.prefix,
      templatePrefix: args.templatePrefix,
      generationLayout: args.apply || args.watch,
    },
    serverName: args.server,
    overrides,
    lenient: args.lenient,
    marker: args.marker,
    forceDnsResolution: args.forceDns,
  };
  // Read on every call: a --watch pass must see localconfig and hosts-file edits.
  const loadDeps = async () => {
    const localConfig = await loadLocalConfig(
      localConfigFileFor(args.workdir, args.localconfig, args.source),
    );
    return {
      source: createDirectorySource(args.source, {
        localConfig,
        bindDn: args.bindDn,
        bindPasswordFile: args.bindPasswordFile,
      }),
      localConfig,
      resolver: await createHostResolver(args),
      files,
      moduleTrust: checkModuleTrust,
      groupId: lookupGroupId,
      // Only where nginx runs: a CI job rendering for another host may lack its users.
      userExists:
        args.apply || args.watch
          ? (name: string) => Promise.resolve(lookupUser(name) !== undefined)
          : undefined,
    };
  };
  const deps = await loadDeps();
  if (args.definitions) {
    const computed = await computeGenerationVariables(options, deps);
    printWarnings(computed.warnings, io);
    io.stdout(formatDefinitions(computed.vars));
    return EXIT.ok;
  }
  if (args.apply || args.watch) {
    // nginx -t on a generation fails on each of these, one run at a time: say them all at once.
    assertWorkdirSetUp(
      args.workdir,
      localConfigText(deps.localConfig, WORKER_USER_KEY).trim() || 'nobody',
    );
    if (
      args.canaryWaitMs > 0 &&
      localConfigText(deps.localConfig, 'zmproxy_canary_server').trim() === ''
    ) {
      throw new ProxyConfError('E_USAGE', '--canary-wait needs a canary proxy', {
        hint: 'zmlocalconfig -e zmproxy_canary_server=<server name of the canary proxy> (the same on every proxy)',
      });
    }
    const fleet: FleetContext = { identity: undefined, localConfig: deps.localConfig };
    const render = async () => {
      fleet.identity = undefined;
      const passDeps = await loadDeps();
      fleet.localConfig = passDeps.localConfig;
      // Read before the directory: the label never claims a newer revision than was rendered.
      const revision =
        fleet.probed !== undefined
          ? fleet.probed.revision
          : await readRevision(args, passDeps.localConfig);
      fleet.probed = undefined;
      const generation = await guardCertificates(
        await generate(options, { ...passDeps, templates: createTemplateStore() }),
        args.force,
      );
      await assertNginxCanResolve(generation.files, resolveLikeNginx);
      const identified = withFleetIdentity(generation, revision);
      fleet.identity = identified.identity;
      return identified;
    };
    return args.watch
      ? runWatchMode(args, render, io, fleet)
      : runApplyOnce(args, render, io, fleet);
  }
  // One live tree: on a work directory --apply manages, nginx serves conf/nginx/current.
  const live = resolvePaths({ workdir: args.workdir, generationLayout: true }).liveDir;
  const managed = existsSync(live);
  const comparing = args.diff || args.check || args.dryRun;
  if (managed && !comparing) {
    throw new ProxyConfError(
      'E_USAGE',
      `${args.workdir} is managed by zmproxyconfgen --apply: nginx serves ${live}, so files written to ${args.workdir}/conf would be a second tree nothing reads`,
      {
        hint: `zmproxyconfgen --apply -w ${args.workdir} publishes a tested generation; --diff or --check compares with the one nginx serves`,
      },
    );
  }
  const rendered = await guardCertificates(
    await generate(
      managed ? { ...options, paths: { ...options.paths, generationLayout: true } } : options,
      { ...deps, templates: createTemplateStore() },
    ),
    args.force || comparing,
    // --diff, --check and -n write nothing, the certificate facts cache included.
    !comparing,
  );
  // The served generation's files sit below the live link, relative as the layout makes them.
  const relative = managed ? computeGenerationFiles(rendered) : [];
  const generation = managed
    ? {
        ...rendered,
        files: rendered.files.map((file, index) => ({
          ...file,
          path: `${live}/${relative[index]?.path ?? file.path}`,
        })),
      }
    : rendered;
  // The flat tree keeps a manifest of what it wrote: an unchanged file is not read back.
  const manifest = managed ? undefined : `${generation.paths.confDir}/${FLAT_MANIFEST_FILE}`;
  const current =
    manifest !== undefined && files.readPlanned !== undefined
      ? await files.readPlanned(generation.files, manifest)
      : await files.readMany(generation.files.map((file) => file.path));
  const changes = planChanges(generation.files, current);
  const differs = changes.some((change) => change.status !== 'unchanged');
  if (!args.json) printWarnings(generation.warnings, io);

  if (args.diff || args.check || args.dryRun) {
    if (args.diff) io.stdout(formatDiff(changes));
    if (args.dryRun && args.verbose) {
      for (const change of changes) io.stderr(`would write ${change.path} (${change.status})\n`);
    }
    if (args.json) io.stdout(`${JSON.stringify(summary(generation, changes, false), null, 2)}\n`);
    else if (args.check) io.stdout(checkSummary(changes));
    else if (args.dryRun)
      io.stdout(
        `dry run, nothing written: ${writeSummary(generation, changes, 'would be written')}`,
      );
    return args.check && differs ? EXIT.differs : EXIT.ok;
  }

  const toWrite = changes.filter((change) => change.status !== 'unchanged');
  if (args.verbose) for (const change of toWrite) io.stderr(`writing ${change.path}\n`);
  await files.writeMany(toWrite);
  if (manifest !== undefined) await files.recordPlanned?.(generation.files, manifest);
  if (args.json) io.stdout(`${JSON.stringify(summary(generation, changes, true), null, 2)}\n`);
  else io.stdout(writeSummary(generation, changes));
  return EXIT.ok;
}

/** The contextCSN revision of an LDAP directory (undefined for LDIF: the directory hash stands in). */
async function readRevision(args: Args, localConfig: LocalConfig): Promise<string | undefined> {
  if (args.source !== undefined && parseSourceSpec(args.source).kind === 'ldif') return undefined;
  const ldap = await resolveLdapOptions(args.source, {
    localConfig,
    bindDn: args.bindDn,
    bindPasswordFile: args.bindPasswordFile,
  });
  return readContextCsnRevision(ldap);
}

/**
 * Certificates are checked before they are published: an expired or not yet valid certificate,
 * or a key that is not its own, stops the run (nothing written) unless `force`; expiring ones
 * and names that do not cover the domain's virtual hosts become warnings.
 */
async function guardCertificates(
  generation: Generation,
  force: boolean,
  keepFacts = true,
): Promise<Generation> {
  const facts = createCertificateFactsFile(certificateFactsPath(generation.paths.workdir));
  const verdict = await checkGenerationCertificates(
    generation,
    Date.now(),
    (path) => readFile(path, 'utf8'),
    // A run that writes nothing still reads the kept facts, and keeps none.
    keepFacts ? facts : { load: () => facts.load(), save: () => Promise.resolve() },
  );
  const refusals = verdict.refusals.map((message) => ({
    code: 'W_CERT_FORCED' as const,
    message: force ? `${message} (published anyway: --force)` : message,
    hint: 'install a valid certificate and its key',
  }));
  if (refusals.length > 0 && !force) {
    throw new ProxyConfError(
      'E_INPUT',
      `refusing to publish certificates nginx would serve broken:\n  ${verdict.refusals.join('\n  ')}`,
      {
        hint: 'install a valid certificate and key (zmprov md DOMAIN zimbraSSLCertificate … zimbraSSLPrivateKey …, or the files of the default pair); --force publishes anyway',
      },
    );
  }
  return {
    ...generation,
    warnings: [...generation.warnings, ...(force ? refusals : []), ...verdict.warnings],
  };
}

function printWarnings(warnings: readonly Warning[], io: CliIo): void {
  for (const warning of warnings) {
    io.stderr(`${formatWarning(warning)}\n`);
    if (warning.hint !== undefined) io.stderr(`  hint: ${warning.hint}\n`);
  }
}

function count(changes: readonly FileChange[], status: FileChange['status']): number {
  return changes.filter((change) => change.status === status).length;
}

/** `verb` is "would be written" for a dry run, whose summary must not claim a write. */
function writeSummary(
  generation: Generation,
  changes: readonly FileChange[],
  verb = 'written',
): string {
  const written = changes.length - count(changes, 'unchanged');
  return (
    `generated ${changes.length} files for server ${generation.server} in ${generation.paths.confDir}: ` +
    `${written} ${verb} (${count(changes, 'created')} new, ${count(changes, 'changed')} changed), ` +
    `${count(changes, 'unchanged')} unchanged\n`
  );
}

function checkSummary(changes: readonly FileChange[]): string {
  const differing = changes.filter((change) => change.status !== 'unchanged');
  if (differing.length === 0) return `all ${changes.length} files are up to date\n`;
  return `${differing.length} of ${changes.length} files differ from disk:\n${differing
    .map((change) => `  ${change.status === 'created' ? 'missing' : 'changed'} ${change.path}\n`)
    .join('')}`;
}

function summary(generation: Generation, changes: readonly FileChange[], written: boolean) {
  const paths = (status: FileChange['status']) =>
    changes.filter((change) => change.status === status).map((change) => change.path);
  return {
    server: generation.server,
    confDir: generation.paths.confDir,
    written,
    created: paths('created'),
    changed: paths('changed'),
    unchanged: paths('unchanged'),
    warnings: generation.warnings,
  };
}

/** What the render of --apply/--watch learnt last, for the status file and the canary. */
interface FleetContext {
  identity: FleetIdentity | undefined;
  localConfig: LocalConfig;
  /** The revision the --watch probe just read (used once, by the pass it triggers). */
  probed?: { revision: string | undefined } | undefined;
}

/** The adapters and options of the rewrite loop, built from the flags. */
function applyContext(args: Args, render: () => Promise<Generation>, fleet: FleetContext) {
  const paths = resolvePaths({
    workdir: args.workdir,
    configPrefix: args.prefix,
    generationLayout: true,
  });
  const nginxDir = `${paths.confDir}/nginx`;
  const state = createApplyStateStore(`${nginxDir}/zmproxy-apply-state.json`);
  const deps: ApplyDeps = {
    render,
    generations: createGenerationStore({
      liveDir: paths.liveDir,
      generationsDir: paths.generationsDir,
      configPrefix: paths.configPrefix,
    }),
    nginx: createNginxControl({
      nginx: args.nginx,
      prefix: `${args.workdir}/`,
      testTimeoutMs: args.testTimeoutMs,
    }),
    lock: createRunLock(`${nginxDir}/zmproxy-apply.lock`),
    state,
    clock: createSystemClock(),
  };
  const options: ApplyOptions = {
    splaySeconds: args.splaySeconds,
    minReloadIntervalMs: args.minReloadIntervalMs,
    lockWaitMs: args.lockWaitMs,
    maxShrink: args.maxShrink,
    force: args.force,
    keep: args.keep,
    confirmTimeoutMs: args.reloadTimeoutMs,
    noReload: args.noReload,
    canary:
      args.canaryWaitMs > 0
        ? canaryGateFor({
            canary: () => localConfigText(fleet.localConfig, 'zmproxy_canary_server'),
            resolver: () => createHostResolver(args),
            waitMs: args.canaryWaitMs,
            pollMs: Math.max(1000, args.intervalMs),
            now: () => Date.now(),
          })
        : undefined,
  };
  const record = async (result: ApplyResult): Promise<void> => {
    try {
      await recordRunStatus(paths.confDir, result, fleet.identity, Date.now());
    } catch (error) {
      result.warnings.push({
        code: 'W_STATUS_FILE_UNWRITABLE',
        message: `cannot write the fleet status file: ${error instanceof Error ? error.message : String(error)}`,
        hint: 'check the free space and permissions of the workdir',
      });
    }
  };
  const fleetMetrics = () => fleetMetricsText(paths.confDir, deps.generations);
  return { deps, options, state, record, fleetMetrics };
}

async function writeMetricsFile(
  file: string | undefined,
  state: ApplyStateStore,
  daemon: boolean,
  fleetMetrics: () => Promise<string>,
): Promise<void> {
  if (file === undefined) return;
  await writeTextAtomic(
    file,
    formatApplyMetrics(await state.read(), { daemon }) + (await fleetMetrics()),
  );
}

/** `--apply`: one run; prints what happened; the exit code says how it ended (APPLY_EXIT). */
async function runApplyOnce(
  args: Args,
  render: () => Promise<Generation>,
  io: CliIo,
  fleet: FleetContext,
): Promise<number> {
  const { deps, options, state, record, fleetMetrics } = applyContext(args, render, fleet);
  const result = await runApply(options, deps);
  await record(result);
  await writeMetricsFile(args.metricsFile, state, false, fleetMetrics);
  if (args.json) {
    io.stdout(`${JSON.stringify(applyLogLine(result))}\n`);
  } else {
    // A cron job runs this every minute: standing warnings are printed when they change.
    if (args.verbose || (await warningsChanged(args.workdir, result.warnings)))
      printWarnings(result.warnings, io);
    // The outcome table says what succeeded: `resynced` (17) repaired nginx and is no error.
    const failed = !APPLY_OUTCOME_RULES[result.outcome].success;
    if (result.outcome === 'canary-pending') {
      // Not a failure, but cron sends stdout to /dev/null: say why nothing was published.
      io.stderr(`${result.message}\n`);
    } else if (failed && result.error !== undefined) {
      reportError(result.error, io, args.debug);
    } else {
      (failed ? io.stderr : io.stdout)(`${failed ? 'error: ' : ''}${result.message}\n`);
    }
    for (const line of result.details) io.stderr(`  ${line}\n`);
    if (args.verbose) for (const path of result.changed) io.stderr(`changed ${path}\n`);
  }
  return APPLY_EXIT[result.outcome];
}

function applyLogLine(result: ApplyResult): Record<string, unknown> {
  return {
    outcome: result.outcome,
    exitCode: APPLY_EXIT[result.outcome],
    generation: result.generation,
    previous: result.previous,
    hash: result.hash,
    changed: result.changed,
    durations: result.durations,
    message: result.message,
    details: result.details,
    // Every invalid value of a failed pass, not only "1 problem found".
    ...(result.error instanceof ProblemsError
      ? { problems: result.error.problems.map((problem) => formatProblem(problem)) }
      : {}),
    warnings: result.warnings.map(({ code, message, hint }) => ({ code, message, hint })),
  };
}

/**
 * Whether the warnings differ from the last run's; records them in
 * `<workdir>/conf/nginx/zmproxy-warnings.json` (code, message, hint of each, for scripts too).
 * Unreadable or unwritable: treated as changed.
 */
export async function warningsChanged(
  workdir: string,
  warnings: readonly Warning[],
): Promise<boolean> {
  const file = `${workdir}/conf/nginx/zmproxy-warnings.json`;
  if (warnings.length === 0) {
    // Nothing to print; forget the last set, so that it is printed again when it returns.
    await unlink(file).catch(() => undefined);
    return false;
  }
  const text = `${JSON.stringify(
    { warnings: warnings.map(({ code, message, hint }) => ({ code, message, hint })) },
    null,
    2,
  )}\n`;
  let before = '';
  try {
    before = await readFile(file, 'utf8');
  } catch {
    // first run
  }
  if (before === text) return false;
  await writeTextAtomic(file, text).catch(() => undefined);
  return true;
}

/** `--watch`: the daemon. SIGTERM/SIGINT end it after the running pass, SIGHUP forces a pass. */
async function runWatchMode(
  args: Args,
  render: () => Promise<Generation>,
  io: CliIo,
  fleet: FleetContext,
): Promise<number> {
  const { deps, options, state, record, fleetMetrics } = applyContext(args, render, fleet);
  const stop = new AbortController();
  const onStop = (): void => stop.abort();
  let force: (() => void) | undefined;
  const onHup = (): void => force?.();
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  let metricsText =
    formatApplyMetrics(await state.read(), { daemon: true }) + (await fleetMetrics());
  const server =
    args.metricsListen === undefined
      ? undefined
      : await startMetricsServer(args.metricsListen, () => metricsText);
  const source = args.source === undefined ? undefined : parseSourceSpec(args.source);
  const localConfigFile = localConfigFileFor(args.workdir, args.localconfig, args.source);
  // Each poll reads localconfig again: ldap_url and the credentials may have been edited.
  const fingerprint = async (): Promise<string> => {
    fleet.probed = undefined;
    const ldap =
      source?.kind === 'ldif'
        ? undefined
        : await resolveLdapOptions(args.source, {
            localConfig: await loadLocalConfig(localConfigFile),
            bindDn: args.bindDn,
            bindPasswordFile: args.bindPasswordFile,
          });
    return createInputFingerprint({
      files: [
        ...(source?.kind === 'ldif' ? source.files : []),
        ...[localConfigFile, args.hosts].filter((file): file is string => file !== undefined),
      ],
      // A glob's folder: an export added there is a change.
      dirs: [args.templateDir, ...(source?.kind === 'ldif' ? ldifGlobDirs(source.files) : [])],
      ldap,
      onRevision: (revision) => {
        fleet.probed = { revision };
      },
    })();
  };
  io.stdout(
    `${JSON.stringify({ time: new Date().toISOString(), event: 'start', pid: process.pid, workdir: args.workdir })}\n`,
  );
  try {
    await runWatch(
      {
        intervalMs: args.intervalMs,
        fullIntervalMs: args.fullIntervalMs,
        signal: stop.signal,
      },
      {
        pass: () =>
          runApply(
            // --splay spreads a fleet's passes after one directory change (0: none).
            { ...options, deferInsteadOfWait: true, signal: stop.signal },
            deps,
          ),
        fingerprint,
        clock: deps.clock,
        log: (line) => io.stdout(`${JSON.stringify(line)}\n`),
        onForce: (trigger) => {
          force = trigger;
        },
        afterPass: async (result) => {
          await record(result);
          const current = await state.read();
          metricsText = formatApplyMetrics(current, { daemon: true }) + (await fleetMetrics());
          await writeMetricsFile(args.metricsFile, state, true, fleetMetrics);
        },
      },
    );
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
    await server?.close();
  }
  io.stdout(
    `${JSON.stringify({ time: new Date().toISOString(), event: 'stop', pid: process.pid })}\n`,
  );
  return EXIT.ok;
}
