/** Types of cli-args.js (shared by the benchmarks and test/helpers). */
export function localConfigXml(entries: readonly (readonly [string, string])[]): string;
export function directoryRunArgs(options: {
  ldap: readonly string[];
  localconfig: string;
  hosts: string;
  workdir: string;
}): string[];
