/**
 * `zmproxyconfgen` (= `zmproxy confgen`): Zimbra's flags (ref §8) plus --source, --localconfig,
 * --hosts, --diff, --check, --json, --lenient, --marker. Thin: parse, call the engine, print.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import type { Warning } from '../errors.js';
import { ProxyConfError } from '../errors.js';
import type { Generation } from '../engine/generate.js';
import { computeGenerationVariables, generate } from '../engine/generate.js';
import type { FileChange } from '../plan/plan-changes.js';
import { formatDiff, planChanges } from '../plan/plan-changes.js';
import { formatDefinitions, parseOverrides } from '../vars/registry.js';
import { createFileStore } from '../writer/file-store.js';
import { createTemplateStore } from '../writer/template-store.js';
import type { CliIo } from './shared/io.js';
import { createDirectorySource, createHostResolver, loadLocalConfig } from './shared/inputs.js';
import { EXIT, reportError } from './shared/run.js';

/** The template set bundled with zmproxy (stock nginx), the default for -t. */
export const BUNDLED_TEMPLATE_DIR = fileURLToPath(new URL('../../templates', import.meta.url));

const USAGE = `zmproxyconfgen [options]

Generates the nginx proxy configuration from the Zimbra directory.
By default it renders zmproxy's templates for stock nginx; give -t DIR to render Zimbra's own
templates (/opt/zimbra/conf/nginx/templates) exactly as ProxyConfGen does.`;

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
  if ([parsed.diff, parsed.check, parsed.n].filter(Boolean).length > 1) {
    throw new ProxyConfError('E_USAGE', '--diff, --check and -n exclude each other', {
      hint: 'give one of them',
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
    },
    serverName: args.server,
    overrides,
    lenient: args.lenient,
    marker: args.marker,
    forceDnsResolution: args.forceDns,
  };
  const localConfig = await loadLocalConfig(args.localconfig);
  const deps = {
    source: createDirectorySource(args.source, {
      localConfig,
      bindDn: args.bindDn,
      bindPasswordFile: args.bindPasswordFile,
    }),
    localConfig,
    resolver: await createHostResolver(args),
    files,
  };
  if (args.definitions) {
    const computed = await computeGenerationVariables(options, deps);
    printWarnings(computed.warnings, io);
    io.stdout(formatDefinitions(computed.vars));
    return EXIT.ok;
  }
  const generation = await generate(options, { ...deps, templates: createTemplateStore() });
  const current = await files.readMany(generation.files.map((file) => file.path));
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
  if (args.json) io.stdout(`${JSON.stringify(summary(generation, changes, true), null, 2)}\n`);
  else io.stdout(writeSummary(generation, changes));
  return EXIT.ok;
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
