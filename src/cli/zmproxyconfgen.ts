/**
 * `zmproxyconfgen` (= `zmproxy confgen`): Zimbra's flags (docs/zimbra-notes.md "zmproxyconfgen")
 * plus --source, --localconfig,
 * --hosts, --diff, --check, --json, --lenient, --marker, and the rewrite loop: --apply (one run)
 * and --watch (the daemon). Thin: parse, build the adapters, call the engine, print.
 */
import { lookupGroupId } from '../writer/groups.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import type { Warning } from '../errors.js';
import { formatProblem, ProblemsError, ProxyConfError } from '../errors.js';
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
import { assertWorkdirSetUp } from '../reload/workdir-setup.js';
import { formatApplyMetrics } from '../engine/apply-metrics.js';
import { runWatch } from '../engine/watch.js';
import { existsSync } from 'node:fs';
import { resolveLikeNginx } from '../sources/dns/resolve-hostnames.js';
import { resolvePaths } from '../model/paths.js';
import type { ApplyStateStore } from '../ports.js';
import { createApplyStateStore, writeTextAtomic } from '../reload/apply-state-file.js';
import { createGenerationStore } from '../reload/generation-store.js';
import { createInputFingerprint } from '../reload/input-probe.js';
import { startMetricsServer } from '../reload/metrics-server.js';
import { checkModuleTrust } from '../reload/module-trust.js';
import { createNginxControl } from '../reload/nginx-control.js';
import { createRunLock } from '../reload/run-lock.js';
import { createSystemClock } from '../reload/system-clock.js';
import { parseSourceSpec } from '../sources/ldif/index.js';
import type { CliIo } from './shared/io.js';
import {
  createDirectorySource,
  createHostResolver,
  loadLocalConfig,
  localConfigFileFor,
  resolveLdapOptions,
} from './shared/inputs.js';
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
    const args = await parseArgs(argv, io);
    if (typeof args === 'number') return args;
    debug = args.debug;
    return await execute(args, io);
  } catch (error) {
    return reportError(error, io, debug);
  }
}

type Args = Exclude<Awaited<ReturnType<typeof parseArgs>>, number>;

async function parseArgs(argv: readonly string[], io: CliIo) {
  let failure: string | undefined;
  let helpShown = false;
  const parser = yargs([...argv])
    .scriptName('zmproxyconfgen')
    .usage(USAGE)
    .parserConfiguration({
      'camel-case-expansion': false,
      'strip-aliased': true,
      'duplicate-arguments-array': true,
    })
    .option('v', {
      alias: 'verbose',
      type: 'boolean',
      default: false,
      describe: 'Print what is done, file by file',
    })
    .option('w', {
      alias: 'workdir',
      type: 'string',
      describe: 'Working directory (Zimbra home)',
      default: '/opt/zimbra',
    })
    .option('t', {
      alias: 'templatedir',
      type: 'string',
      describe: "Template directory (default: zmproxy's stock nginx templates)",
    })
    .option('n', {
      alias: 'dry-run',
      type: 'boolean',
      default: false,
      describe: 'Render everything, write nothing',
    })
    .option('d', {
      alias: 'defaults',
      type: 'boolean',
      default: false,
      describe: 'Print every variable with its default, then exit',
    })
    .option('D', {
      alias: 'definitions',
      type: 'boolean',
      default: false,
      describe: 'Print every variable with its current value, then exit',
    })
    .option('p', {
      alias: 'prefix',
      type: 'string',
      default: 'nginx.conf',
      describe: 'Config file prefix',
    })
    .option('P', {
      alias: 'template-prefix',
      type: 'string',
      describe: 'Template file prefix (default: the config prefix)',
    })
    .option('i', {
      alias: 'include-dir',
      type: 'string',
      default: 'nginx/includes',
      describe: 'Includes directory, relative to <workdir>/conf',
    })
    .option('s', {
      alias: 'server',
      type: 'string',
      describe: 'Generate for this server (name or zimbraId)',
    })
    .option('f', {
      alias: 'force-dns-resolution',
      type: 'boolean',
      default: false,
      describe: 'Fail when a virtual host name does not resolve',
    })
    .option('c', {
      alias: 'config',
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'Override a variable: name=value (repeatable)',
    })
    .option('source', {
      type: 'string',
      describe: 'Directory: ldif:FILE[,FILE…] or ldap://HOST:PORT (default: localconfig ldap_url)',
    })
    .option('localconfig', { type: 'string', describe: 'Zimbra localconfig.xml' })
    .option('hosts', {
      type: 'string',
      describe: 'Hosts file (/etc/hosts format) answered before DNS',
    })
    .option('bind-dn', {
      type: 'string',
      describe: 'LDAP bind DN (default: localconfig zimbra_ldap_userdn)',
    })
    .option('bind-password-file', {
      type: 'string',
      describe: 'File holding the LDAP bind password (default: localconfig zimbra_ldap_password)',
    })
    .option('hosts-only', {
      type: 'boolean',
      default: false,
      describe: 'Resolve names from --hosts only, never from DNS',
    })
    .option('diff', {
      type: 'boolean',
      default: false,
      describe: 'Print a unified diff of what would change; write nothing',
    })
    .option('check', {
      type: 'boolean',
      default: false,
      describe: 'Exit 3 when any output differs from disk, 0 when identical; write nothing',
    })
    .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
    .option('lenient', {
      type: 'boolean',
      default: false,
      describe: 'Unknown template variables expand to "" (Zimbra\'s behaviour)',
    })
    .option('marker', {
      type: 'boolean',
      default: false,
      describe: 'Append #__SUCCESS__ to nginx.conf, as ProxyConfGen does',
    })
    .option('apply', {
      type: 'boolean',
      default: false,
      describe: 'Publish a tested generation and reload nginx (see the exit codes above)',
    })
    .option('watch', {
      type: 'boolean',
      default: false,
      describe: 'Run as a daemon: --apply whenever the inputs change',
    })
    .option('interval', {
      type: 'number',
      default: 10,
      describe: '--watch: seconds between two polls of the inputs',
    })
    .option('full-interval', {
      type: 'number',
      default: 300,
      describe: '--watch: a full render at least this often, in seconds',
    })
    .option('splay', {
      type: 'number',
      default: 0,
      describe: '--apply: wait a random 0..S seconds first (cron on many proxies)',
    })
    .option('min-reload-interval', {
      type: 'number',
      default: 5,
      describe: 'Seconds between two reloads; later changes wait and are coalesced',
    })
    .option('lock-wait', {
      type: 'number',
      default: 0,
      describe: 'Seconds to wait for another run to finish before giving up (exit 16)',
    })
    .option('max-shrink', {
      type: 'number',
      default: 0.5,
      describe:
        'Refuse to publish when a lookup handler or upstream list shrinks by more than this share',
    })
    .option('force', {
      type: 'boolean',
      default: false,
      describe: 'Publish even when the sanity guard or the certificate checks object',
    })
    .option('keep', { type: 'number', default: 5, describe: 'Generations kept on disk' })
    .option('nginx', { type: 'string', default: 'nginx', describe: 'The nginx binary' })
    .option('test-timeout', {
      type: 'number',
      default: 30,
      describe: 'Seconds nginx -t may take',
    })
    .option('reload-timeout', {
      type: 'number',
      default: 10,
      describe: 'Seconds nginx may take to serve the new generation after the reload',
    })
    .option('reload', {
      type: 'boolean',
      default: true,
      describe: 'Reload nginx after publishing (--no-reload: publish only)',
    })
    .option('metrics-file', {
      type: 'string',
      describe: 'Write Prometheus metrics to FILE after each run (node_exporter textfile)',
    })
    .option('metrics-listen', {
      type: 'string',
      describe: '--watch: serve Prometheus metrics on HOST:PORT (/metrics, /healthz)',
    })
    .option('debug', { type: 'boolean', default: false, describe: 'Show stack traces' })
    .help('h')
    .alias('h', 'help')
    .version(false)
    .strict()
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message: string | null, error: Error | undefined) => {
      failure = message ?? error?.message ?? 'invalid arguments';
    });
  const parsed = await parser.parseAsync(
    [...argv],
    {},
    (_error: Error | undefined, _argv: unknown, output: string) => {
      if (output !== '' && failure === undefined) {
        helpShown = true;
        io.stdout(`${output}\n`);
      }
    },
  );
  if (failure !== undefined) {
    throw new ProxyConfError('E_USAGE', failure, { hint: 'zmproxyconfgen -h lists the options' });
  }
  if (helpShown) return EXIT.ok;
  if (parsed._.length > 0) {
    throw new ProxyConfError('E_USAGE', `unexpected argument ${String(parsed._[0])}`, {
      hint: 'zmproxyconfgen -h lists the options',
    });
  }
  if (
    [parsed.diff, parsed.check, parsed.n, parsed.apply, parsed.watch].filter(Boolean).length > 1
  ) {
    throw new ProxyConfError(
      'E_USAGE',
      '--diff, --check, -n, --apply and --watch exclude each other',
      {
        hint: 'give one of them',
      },
    );
  }
  if ((parsed.apply || parsed.watch) && parsed.i !== 'nginx/includes') {
    throw new ProxyConfError('E_USAGE', '-i cannot be combined with --apply or --watch', {
      hint: 'a generation keeps its includes in <workdir>/conf/nginx/generations/<id>/includes',
    });
  }
  for (const name of [
    'interval',
    'full-interval',
    'splay',
    'min-reload-interval',
    'lock-wait',
    'test-timeout',
    'reload-timeout',
  ] as const) {
    if (!Number.isFinite(parsed[name]) || parsed[name] < 0) {
      throw new ProxyConfError(
        'E_USAGE',
        `--${name} must be a number of seconds (got ${String(parsed[name])})`,
      );
    }
  }
  if (!(parsed['max-shrink'] >= 0 && parsed['max-shrink'] <= 1)) {
    throw new ProxyConfError(
      'E_USAGE',
      `--max-shrink must be between 0 and 1 (got ${String(parsed['max-shrink'])})`,
    );
  }
  if (!Number.isInteger(parsed.keep) || parsed.keep < 2) {
    throw new ProxyConfError(
      'E_USAGE',
      `--keep must be an integer of at least 2 (got ${String(parsed.keep)})`,
      {
        hint: 'the previous generation is what a failed reload rolls back to',
      },
    );
  }
  if (parsed['metrics-listen'] !== undefined && !parsed.watch) {
    throw new ProxyConfError('E_USAGE', '--metrics-listen needs --watch', {
      hint: 'a one-shot run writes --metrics-file instead',
    });
  }
  return {
    verbose: parsed.v,
    // Absolute: nginx resolves a relative include against its own prefix, not our cwd.
    workdir: resolve(parsed.w),
    templateDir: resolve(parsed.t ?? BUNDLED_TEMPLATE_DIR),
    dryRun: parsed.n,
    defaults: parsed.d,
    definitions: parsed.D,
    prefix: parsed.p,
    templatePrefix: parsed.P,
    includeDir: parsed.i,
    server: parsed.s,
    forceDns: parsed.f,
    config: parsed.c,
    source: parsed.source,
    localconfig: parsed.localconfig,
    hosts: parsed.hosts,
    hostsOnly: parsed['hosts-only'],
    bindDn: parsed['bind-dn'],
    bindPasswordFile: parsed['bind-password-file'],
    diff: parsed.diff,
    check: parsed.check,
    json: parsed.json,
    lenient: parsed.lenient,
    marker: parsed.marker,
    debug: parsed.debug,
    apply: parsed.apply,
    watch: parsed.watch,
    intervalMs: parsed.interval * 1000,
    fullIntervalMs: parsed['full-interval'] * 1000,
    splaySeconds: parsed.splay,
    minReloadIntervalMs: parsed['min-reload-interval'] * 1000,
    lockWaitMs: parsed['lock-wait'] * 1000,
    maxShrink: parsed['max-shrink'],
    force: parsed.force,
    keep: parsed.keep,
    nginx: parsed.nginx,
    testTimeoutMs: parsed['test-timeout'] * 1000,
    reloadTimeoutMs: parsed['reload-timeout'] * 1000,
    noReload: !parsed.reload,
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
  const localConfig = await loadLocalConfig(
    localConfigFileFor(args.workdir, args.localconfig, args.source),
  );
  const deps = {
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
  };
  if (args.definitions) {
    const computed = await computeGenerationVariables(options, deps);
    printWarnings(computed.warnings, io);
    io.stdout(formatDefinitions(computed.vars));
    return EXIT.ok;
  }
  if (args.apply || args.watch) {
    // nginx -t on a generation fails on each of these, one run at a time: say them all at once.
    assertWorkdirSetUp(args.workdir);
    const render = async () => {
      const generation = await guardCertificates(
        await generate(options, { ...deps, templates: createTemplateStore() }),
        args.force,
      );
      await assertNginxCanResolve(generation.files, resolveLikeNginx);
      return generation;
    };
    return args.watch ? runWatchMode(args, render, io) : runApplyOnce(args, render, io);
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
      io.stdout(`dry run, nothing written: ${writeSummary(generation, changes)}`);
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
    io.stderr(`warning: ${warning.message}\n`);
    if (warning.hint !== undefined) io.stderr(`  hint: ${warning.hint}\n`);
  }
}

function count(changes: readonly FileChange[], status: FileChange['status']): number {
  return changes.filter((change) => change.status === status).length;
}

function writeSummary(generation: Generation, changes: readonly FileChange[]): string {
  const written = changes.length - count(changes, 'unchanged');
  return (
    `generated ${changes.length} files for server ${generation.server} in ${generation.paths.confDir}: ` +
    `${written} written (${count(changes, 'created')} new, ${count(changes, 'changed')} changed), ` +
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

/** The adapters and options of the rewrite loop, built from the flags. */
function applyContext(args: Args, render: () => Promise<Generation>) {
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
  };
  return { deps, options, state };
}

async function writeMetricsFile(
  file: string | undefined,
  state: ApplyStateStore,
  daemon: boolean,
): Promise<void> {
  if (file === undefined) return;
  await writeTextAtomic(file, formatApplyMetrics(await state.read(), { daemon }));
}

/** `--apply`: one run; prints what happened; the exit code says how it ended (APPLY_EXIT). */
async function runApplyOnce(
  args: Args,
  render: () => Promise<Generation>,
  io: CliIo,
): Promise<number> {
  const { deps, options, state } = applyContext(args, render);
  const result = await runApply(options, deps);
  await writeMetricsFile(args.metricsFile, state, false);
  if (args.json) {
    io.stdout(`${JSON.stringify(applyLogLine(result))}\n`);
  } else {
    // A cron job runs this every minute: standing warnings are printed when they change.
    if (args.verbose || (await warningsChanged(args.workdir, result.warnings)))
      printWarnings(result.warnings, io);
    const failed = APPLY_EXIT[result.outcome] !== 0 && APPLY_EXIT[result.outcome] !== 10;
    if (failed && result.error !== undefined) {
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
    warnings: result.warnings.map((warning) => warning.message),
  };
}

/**
 * Whether the warnings differ from the last run's (their digest is kept next to the apply
 * state); records the new digest. Unreadable or unwritable: treated as changed.
 */
export async function warningsChanged(
  workdir: string,
  warnings: readonly Warning[],
): Promise<boolean> {
  const file = `${workdir}/conf/nginx/zmproxy-warnings.sha256`;
  if (warnings.length === 0) {
    // Nothing to print; forget the last set, so that it is printed again when it returns.
    await unlink(file).catch(() => undefined);
    return false;
  }
  const digest = createHash('sha256')
    .update(warnings.map((w) => `${w.message}\n${w.hint ?? ''}`).join('\n'))
    .digest('hex');
  let before = '';
  try {
    before = (await readFile(file, 'utf8')).trim();
  } catch {
    // first run
  }
  if (before === digest) return false;
  await writeTextAtomic(file, `${digest}\n`).catch(() => undefined);
  return true;
}

/** `--watch`: the daemon. SIGTERM/SIGINT end it after the running pass, SIGHUP forces a pass. */
async function runWatchMode(
  args: Args,
  render: () => Promise<Generation>,
  io: CliIo,
): Promise<number> {
  const { deps, options, state } = applyContext(args, render);
  const stop = new AbortController();
  const onStop = (): void => stop.abort();
  let force: (() => void) | undefined;
  const onHup = (): void => force?.();
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  let metricsText = formatApplyMetrics(await state.read(), { daemon: true });
  const server =
    args.metricsListen === undefined
      ? undefined
      : await startMetricsServer(args.metricsListen, () => metricsText);
  const source = args.source === undefined ? undefined : parseSourceSpec(args.source);
  const localConfigFile = localConfigFileFor(args.workdir, args.localconfig, args.source);
  const ldap =
    source?.kind === 'ldif'
      ? undefined
      : await resolveLdapOptions(args.source, {
          localConfig: await loadLocalConfig(localConfigFile),
          bindDn: args.bindDn,
          bindPasswordFile: args.bindPasswordFile,
        });
  const fingerprint = createInputFingerprint({
    files: [
      ...(source?.kind === 'ldif' ? source.files : []),
      ...[localConfigFile, args.hosts].filter((file): file is string => file !== undefined),
    ],
    dirs: [args.templateDir],
    ldap,
  });
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
            { ...options, splaySeconds: 0, deferInsteadOfWait: true, signal: stop.signal },
            deps,
          ),
        fingerprint,
        clock: deps.clock,
        log: (line) => io.stdout(`${JSON.stringify(line)}\n`),
        onForce: (trigger) => {
          force = trigger;
        },
        afterPass: async () => {
          const current = await state.read();
          metricsText = formatApplyMetrics(current, { daemon: true });
          await writeMetricsFile(args.metricsFile, state, true);
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
