/**
 * The shape of a doctor check: an id, a title, the inputs it needs, and a pure `run` from those
 * inputs to findings. Every check is one file in src/doctor/checks/ registered in
 * src/doctor/checks/index.ts; run-doctor.ts gathers the inputs (through the probes) and runs each
 * check whose inputs are there, so a check that needs the directory is skipped, not broken, when
 * the directory cannot be read.
 */
import type { Problem } from '../errors.js';
import type { ResolvedPaths } from '../model/paths.js';
import type { VarContext } from '../vars/types.js';
import type { Finding } from './finding.js';
import type { CertificateFacts } from './probes/certificates.js';
import type { FileRead } from './probes/files.js';
import type { FileOwnership } from './probes/ownership.js';
import type { TcpAnswer } from './probes/tcp.js';
import type { LogInput } from './checks/nginx-logs.js';
import type { LookupServiceFacts } from './checks/lookup-service.js';
import type { TemplateFacts } from './checks/trusted-ips.js';
import type { ProbeTarget } from './targets.js';

/** Everything a check may read; run-doctor.ts fills in what it could gather. */
export interface CheckInputs {
  /** The generator's variable context for this proxy: needs the directory. */
  directory: VarContext;
  /** Values the generator would refuse, found while the context was built. */
  directoryProblems: readonly Problem[];
  /** The work directory's paths, and whether `--apply` manages it (nginx serves conf/nginx/current). */
  layout: { paths: ResolvedPaths; managed: boolean };
  /** Milliseconds since the epoch. */
  now: number;
  /** A localconfig key's value, or Zimbra's default for it (empty when it has none). */
  localConfig: (key: string) => string;
  /** What the TCP probe connected to, and what it saw. */
  reachability: { targets: readonly ProbeTarget[]; answers: readonly TcpAnswer[] };
  /** nginx's logs, and when `--apply` last switched the served generation. */
  logs: { inputs: readonly LogInput[]; servedSince: number | undefined };
  /** The certificate pairs nginx is configured with (the default one first). */
  certificates: readonly CertificateFacts[];
  /** `<workdir>/ssl/zimbra/commercial/commercial.{crt,key}`, where zmcertmgr keeps a CA-signed pair. */
  commercialCertificate: CertificateFacts;
  /** The templates nginx's configuration is rendered from. */
  templates: TemplateFacts;
  /** The lookup services' health; absent with Zimbra's lookup extension or without the probes. */
  lookupService: LookupServiceFacts;
  /** Files of the tree nginx serves: its main configuration, the lookup and certificate includes. */
  served: { mainConfig: FileRead; lookupConfig: FileRead; certificatesConfig: FileRead };
  /** Owner, group and mode of each private key in the served tree. */
  keyFiles: readonly FileOwnership[];
  /** /etc/passwd and /etc/group: who nginx's workers are and which groups they are in. */
  accounts: { passwd: FileRead; group: FileRead };
}

/** The name of one input. */
export type CheckNeed = keyof CheckInputs;

/** One doctor check. */
export interface DoctorCheck<Need extends CheckNeed = CheckNeed> {
  /** Stable id, e.g. `lookup-handlers`: every finding of the check carries it; scripts match it. */
  readonly id: string;
  /** Section title of the human report. */
  readonly title: string;
  /** The inputs `run` reads; the check is skipped when one of them could not be gathered. */
  readonly needs: readonly Need[];
  /** Pure: inputs in, findings out. */
  run(inputs: Pick<CheckInputs, Need>): Finding[];
}

/** Declares a check (infers which inputs `run` may read from `needs`). */
export function defineCheck<Need extends CheckNeed>(check: DoctorCheck<Need>): DoctorCheck<Need> {
  return check;
}
