/**
 * What the benchmarks and the integration tests give the commands they run (test/helpers/stack.ts
 * re-exports them): a localconfig.xml of a few keys, and the flags for a directory read offline.
 */

/**
 * A localconfig.xml holding `entries` (key, value), as Zimbra's zmlocalconfig writes it.
 * @param {readonly (readonly [string, string])[]} entries
 * @returns {string}
 */
export function localConfigXml(entries) {
  const keys = entries.map(
    ([key, value]) => `  <key name="${key}"><value>${value}</value></key>\n`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<localconfig>\n${keys.join('')}</localconfig>\n`;
}

/**
 * The flags of a run that reads the directory through `ldap` (--source and bind flags), takes
 * localconfig from `localconfig`, resolves names from `hosts` only, and works in `workdir`.
 * @param {{ ldap: readonly string[]; localconfig: string; hosts: string; workdir: string }} options
 * @returns {string[]}
 */
export function directoryRunArgs({ ldap, localconfig, hosts, workdir }) {
  return [...ldap, '--localconfig', localconfig, '--hosts', hosts, '--hosts-only', '-w', workdir];
}
