/** Types of ldif-entries.js (shared by the benchmarks and test/helpers). */
export function domainLdif(name: string, lines?: readonly string[]): string;
