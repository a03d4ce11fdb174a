/** Builds the {@link VarContext} a generation computes its variables from. */
import type { Problem, Warning } from '../errors.js';
import { ProxyConfError } from '../errors.js';
import type { DnsTable, IpMode } from '../model/dns.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import { LOCALCONFIG_DEFAULTS } from '../model/localconfig-defaults.js';
import type { ResolvedPaths } from '../model/paths.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import { entryName, firstValueOf } from '../model/snapshot.js';
import type { ProblemSink } from '../resolve/attribute-reader.js';
import { createReaders } from '../resolve/attribute-reader.js';
import { createLocalConfigReader } from '../resolve/localconfig-reader.js';
import { collectHostnames } from './dns-questions.js';
import { computeServerLists } from './server-lists.js';
import type { HostFacts, VarContext } from './types.js';

/** Inputs of {@link createVarContext}. */
export interface VarContextInput {
  snapshot: DirectorySnapshot;
  serverSource: DirectoryEntry;
  localConfig: LocalConfig;
  paths: ResolvedPaths;
  dns: DnsTable;
  facts: HostFacts;
}

/** A context plus the problems and warnings reported while using it. */
export interface VarContextHandle {
  ctx: VarContext;
  problems: Problem[];
  warnings: Warning[];
}

/** Creates a context; problems and warnings accumulate in the handle (warnings de-duplicated). */
export function createVarContext(input: VarContextInput): VarContextHandle {
  const problems: Problem[] = [];
  const warnings: Warning[] = [];
  const seenProblems = new Set<string>();
  const seenWarnings = new Set<string>();
  const sink: ProblemSink = {
    problem: (problem: Problem) => {
      const key = JSON.stringify([problem.subject, problem.entry, problem.message, problem.value]);
      if (seenProblems.has(key)) return;
      seenProblems.add(key);
      problems.push(problem);
    },
    warn: (warning: Warning) => {
      // The same code about the same thing (its message names it) is said once.
      const key = `${warning.code}\n${warning.message}`;
      if (seenWarnings.has(key)) return;
      seenWarnings.add(key);
      warnings.push(warning);
    },
  };
  const readers = createReaders(input.snapshot, sink);
  const server = readers.readerFor(input.serverSource);
  const ctx: VarContext = {
    snapshot: input.snapshot,
    serverSource: input.serverSource,
    server,
    config: readers.config,
    readers,
    lc: createLocalConfigReader(input.localConfig, sink),
    paths: input.paths,
    ipMode: computeIpMode(server.enumValue('zimbraIPMode')),
    dns: input.dns,
    servers: computeServerLists(input.snapshot, input.serverSource, readers, sink.warn),
    facts: input.facts,
    problem: sink.problem,
    warn: sink.warn,
  };
  return { ctx, problems, warnings };
}

function computeIpMode(value: string): IpMode {
  return value === 'ipv4' || value === 'ipv6' ? value : 'both';
}

/** Inputs of {@link buildVarContext}: the server is named, not found yet, and DNS is asked. */
export interface BuildVarContextInput extends Omit<VarContextInput, 'serverSource' | 'dns'> {
  /** `-s NAME` (cn or zimbraId); absent: localconfig zimbra_server_hostname. */
  serverName?: string | undefined;
}

/**
 * The context a generation and the doctor both compute from: finds the server source, asks DNS
 * for the names that matter (a first pass without DNS learns them; its findings are repeated by
 * the real pass), and builds the context with the answers. `extraQuestions` adds names a caller
 * needs resolved beyond the generator's (the doctor's upstream hosts).
 */
export async function buildVarContext(
  input: BuildVarContextInput,
  resolver: { resolve(names: readonly string[]): Promise<DnsTable> },
  extraQuestions: (ctx: VarContext) => readonly string[] = () => [],
): Promise<VarContextHandle & { serverSource: DirectoryEntry }> {
  const { serverName, ...rest } = input;
  const serverSource = findServerSource(
    input.snapshot,
    serverName ?? localServerName(input.localConfig),
  );
  const base = { ...rest, serverSource };
  const first = createVarContext({ ...base, dns: new Map() }).ctx;
  const questions = [...new Set([...collectHostnames(first), ...extraQuestions(first)])];
  const handle = createVarContext({ ...base, dns: await resolver.resolve(questions) });
  return { ...handle, serverSource };
}

/** The local server's name: localconfig zimbra_server_hostname, or Zimbra's default. */
export function localServerName(lc: LocalConfig): string {
  const own = lc.get('zimbra_server_hostname');
  return own !== undefined && own !== ''
    ? own
    : (LOCALCONFIG_DEFAULTS['zimbra_server_hostname'] ?? 'localhost');
}

/** The server entry named (cn, case-insensitive) or identified (zimbraId) by `name`. */
export function findServerSource(snapshot: DirectorySnapshot, name: string): DirectoryEntry {
  const lower = name.toLowerCase();
  const found =
    snapshot.servers.find((server) => entryName(server).toLowerCase() === lower) ??
    snapshot.servers.find((server) => firstValueOf(server, 'zimbraId') === name);
  if (found !== undefined) return found;
  const known = snapshot.servers.map(entryName);
  throw new ProxyConfError(
    'E_INPUT',
    `cannot load server object ${name}: no such server in the directory`,
    {
      hint:
        known.length === 0
          ? 'the directory has no zimbraServer entry; check --source'
          : `generate for one of ${known.join(', ')} with -s NAME, or set localconfig zimbra_server_hostname`,
    },
  );
}
