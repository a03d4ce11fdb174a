/** Builds the {@link VarContext} a generation computes its variables from. */
import type { Problem, Warning } from '../errors.js';
import type { DnsTable, IpMode } from '../model/dns.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import type { ResolvedPaths } from '../model/paths.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import type { ProblemSink } from '../resolve/attribute-reader.js';
import { createReaders } from '../resolve/attribute-reader.js';
import { createLocalConfigReader } from '../resolve/localconfig-reader.js';
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
      if (seenWarnings.has(warning.message)) return;
      seenWarnings.add(warning.message);
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
