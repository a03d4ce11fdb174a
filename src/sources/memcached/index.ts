/** The memcached client of the lookup service and `zmproxy purge`. */
export { createMemcachedClient } from './memcached-client.js';
export type { MemcachedClient, MemcachedOptions } from './memcached-client.js';
export { HashRing } from './hash-ring.js';
