/**
 * `zmproxy doctor`: the proxy troubleshooting guide, automated (README "zmproxy doctor"). Reads the directory,
 * probes DNS, TCP, the nginx logs, certificates and templates from this host, and prints each
 * finding with its evidence and the command that fixes it. Exit 0 when nothing fails, 1 when
 * something does, 2 on usage errors.
 *
 *   zmproxy doctor [--server HOST] [--json] [--source …] [--localconfig F] [--hosts F]
 *                  [-w WORKDIR] [--log FILE…] [--timeout MS]
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ProxyConfError } from '../errors.js';
import { parseEndpoint } from '../model/lookup-topology.js';
import { probeAuthHttp, probeLookupHealth } from '../reload/lookup-process.js';
import { formatHumanReport, formatJsonReport } from '../doctor/format-report.js';
import { probeCertificates } from '../doctor/probes/certificates.js';
import { modifiedAt, readTails, readTextFiles } from '../doctor/probes/files.js';
import { probeOwnership } from '../doctor/probes/ownership.js';
import { probeTcp } from '../doctor/probes/tcp.js';
import type { DoctorProbes } from '../doctor/run-doctor.js';
import { runDoctor } from '../doctor/run-doctor.js';
import { createFileStore } from '../writer/file-store.js';
import { TEMPLATE_SET_MARKER, createTemplateStore } from '../writer/template-store.js';
import { createHostResolver, openDirectoryFromFlags } from './shared/inputs.js';
import type { CliIo } from './shared/io.js';
import type { FlagTable } from './shared/parse-command-args.js';
import {
  DIRECTORY_FLAGS,
  formatFlagHelp,
  HOSTS_FLAGS,
  parseCommandArgs,
} from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';
import { BUNDLED_TEMPLATE_DIR } from './zmproxyconfgen.js';

const FLAGS = {
  server: {
    type: 'string',
    short: 's',
    arg: 'HOST',
    help: 'the proxy server to check (default: localconfig zimbra_server_hostname)',
  },
  json: {
    type: 'boolean',
    help: 'print the findings as JSON ({ version, server, findings, summary })',
  },
  ...DIRECTORY_FLAGS,
  ...HOSTS_FLAGS,
  templatedir: {
    type: 'string',
    short: 't',
    arg: 'DIR',
    help: "the templates nginx's configuration is rendered from: which set (stock or Zimbra's), X-Forwarded-For (default: <workdir>/conf/nginx/templates, else zmproxy's)",
  },
  log: {
    type: 'string',
    multiple: true,
    arg: 'FILE',
    help: 'a log to read instead of <workdir>/log/nginx.log and nginx.access.log (repeatable)',
  },
  timeout: {
    type: 'string',
    arg: 'MS',
    help: 'how long each TCP connect may take (default 3000)',
  },
  debug: { type: 'boolean', help: 'stack traces on errors' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies FlagTable;

const HELP = `usage: zmproxy doctor [options]

Checks this proxy the way the Zimbra proxy troubleshooting guide does, and prints each finding
with its evidence, why it matters, and the command that fixes it: lookup handlers, reachability
(DNS and TCP with timings), the lookup handlers nginx serves, nginx logs, upstream timeouts,
certificates (the commercial pair, key access for nginx's workers), external POP/IMAP servers,
IMAP ID, trusted IPs, the originating IP header, mail refer mode, SSL to upstream, REST URLs.
Certificates are read from <workdir>/conf, logs from <workdir>/log.
Exit status: 0 nothing failed, 1 something failed, 2 usage error.

options:
${formatFlagHelp(FLAGS)}`;

/** Runs `zmproxy doctor` with `argv` (without the program name); returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const { values } = parseCommandArgs(argv, FLAGS, 'doctor');
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    const timeoutMs = values.timeout === undefined ? 3000 : Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new ProxyConfError(
        'E_USAGE',
        `--timeout must be a positive number of milliseconds (got ${values.timeout ?? ''})`,
      );
    }
    const { workdir, localConfig, source } = await openDirectoryFromFlags(values);
    const files = createFileStore();
    const templateDir =
      values.templatedir !== undefined
        ? resolve(values.templatedir)
        : (await isDirectory(`${workdir}/conf/nginx/templates`))
          ? `${workdir}/conf/nginx/templates`
          : BUNDLED_TEMPLATE_DIR;
    const report = await runDoctor(
      {
        serverName: values.server,
        paths: { workdir, templateDir },
        logFiles: values.log?.map((file) => resolve(file)),
        timeoutMs,
      },
      {
        source,
        localConfig,
        resolver: await createHostResolver({
          hosts: values.hosts,
          hostsOnly: values['hosts-only'],
        }),
        probes: createProbes(files.exists.bind(files)),
        now: () => Date.now(),
      },
    );
    io.stdout(
      values.json === true
        ? formatJsonReport(report)
        : formatHumanReport(report, { colour: io.isTty === true }),
    );
    return report.summary.fail > 0 ? EXIT.error : EXIT.ok;
  } catch (error) {
    return reportError(error, io, debug);
  }
}

function createProbes(exists: (path: string) => Promise<boolean>): DoctorProbes {
  const templates = createTemplateStore();
  return {
    connect: (questions, timeoutMs) => probeTcp(questions, { timeoutMs }),
    readLogs: (paths) => readTails(paths),
    readCertificates: (pairs) => probeCertificates(pairs),
    readTemplates: async (dir, prefix) => {
      try {
        const set = (await exists(join(dir, TEMPLATE_SET_MARKER))) ? 'stock' : 'zimbra';
        return { ok: true, dir, set, templates: await templates.readTemplates(dir, prefix) };
      } catch (error) {
        return { ok: false, dir, error: error instanceof Error ? error.message : String(error) };
      }
    },
    exists,
    modifiedAt,
    readFiles: (paths) => readTextFiles(paths),
    ownership: (paths) => probeOwnership(paths),
    lookupHealth: async (url) => {
      const match = /^(https?):\/\/(.+)$/.exec(url);
      const endpoint = parseEndpoint(match?.[2] ?? '');
      if (match === null || endpoint === undefined) return `cannot parse ${url}`;
      return probeLookupHealth(match[1] === 'https' ? 'https' : 'http', endpoint);
    },
    authHttp: async (listen, sharedKey) => {
      const endpoint = parseEndpoint(listen);
      if (endpoint === undefined) return { error: `cannot parse ${listen}` };
      const answer = await probeAuthHttp(endpoint, sharedKey);
      return answer.ok ? { status: answer.status } : { error: answer.error };
    },
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
