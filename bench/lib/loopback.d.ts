/** Types of loopback.js (shared by the benchmarks and test/helpers). */
export function freePorts(n: number): Promise<number[]>;
export function canConnect(port: number): Promise<boolean>;
export function waitForPort(port: number): Promise<void>;
export function writeSelfSignedCertificate(
  crtPath: string,
  keyPath: string,
  commonName?: string,
  options?: { rsa?: boolean },
): void;
