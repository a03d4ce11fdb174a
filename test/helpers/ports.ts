/** Loopback ports for tests that start servers (shared with the benchmarks). */
export { freePorts, waitForPort } from '../../bench/lib/loopback.js';
