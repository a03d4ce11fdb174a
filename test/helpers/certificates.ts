/** Self-signed certificates for tests that start or check real servers (openssl on the PATH). */
export { writeSelfSignedCertificate } from '../../bench/lib/loopback.js';
