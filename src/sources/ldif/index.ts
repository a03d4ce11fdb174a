/** The LDIF directory source. */
export { parseLdif } from './parse-ldif.js';
export type { ParsedLdifEntry } from './parse-ldif.js';
export { parseSourceSpec } from './parse-source-spec.js';
export type { SourceSpec } from './parse-source-spec.js';
export { expandLdifFiles, ldifGlobDirs, readLdifSnapshot } from './read-ldif.js';
