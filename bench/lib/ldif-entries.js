/**
 * LDIF entries the benchmarks and the end-to-end tests both write into the stack's directory
 * (test/helpers/mail-stack.ts re-exports them).
 */

/**
 * A domain entry `dc=<label>,dc=…` for `name` (`example.test`), with `lines` after its name.
 * @param {string} name
 * @param {readonly string[]} [lines]
 * @returns {string}
 */
export function domainLdif(name, lines = []) {
  const labels = name.split('.');
  const first = labels[0] ?? name;
  return [
    `dn: ${labels.map((label) => `dc=${label}`).join(',')}`,
    'objectClass: dcObject',
    'objectClass: organization',
    'objectClass: zimbraDomain',
    `dc: ${first}`,
    `o: ${first}`,
    `zimbraDomainName: ${name}`,
    ...lines,
    '',
  ].join('\n');
}
