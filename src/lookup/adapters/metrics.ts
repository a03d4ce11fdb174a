/**
 * Prometheus metrics of the lookup service (prom-client): lookups by result, cache outcomes,
 * throttled logins, LDAP and memcached latency. Under node:cluster each worker keeps its own
 * registry and the primary aggregates them (prom-client's AggregatorRegistry) for `/metrics`.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics one process records. */
export interface LookupMetrics {
  registry: Registry;
  lookups: Counter<'kind' | 'result'>;
  cache: Counter<'kind' | 'outcome'>;
  throttled: Counter<'kind'>;
  duration: Histogram<'kind'>;
  ldapSeconds: Histogram;
  memcachedSeconds: Histogram;
  /** New memcached rings taken into use (a server added to or removed from the directory). */
  ringRebuilds: Counter;
  /** memcached servers in the ring in use. */
  memcachedServers: Gauge;
  /** Always 1; its labels say which server this is and which directory revision it follows. */
  info: Gauge<'server' | 'revision'>;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Creates the metrics in a new registry (and registers it for cluster aggregation). */
export function createLookupMetrics(): LookupMetrics {
  const registry = new Registry();
  const registers = [registry];
  const metrics: LookupMetrics = {
    registry,
    lookups: new Counter({
      name: 'zmproxy_lookups_total',
      help: 'Route lookups answered, by kind (mail, web) and result',
      labelNames: ['kind', 'result'],
      registers,
    }),
    cache: new Counter({
      name: 'zmproxy_lookup_cache_total',
      help: 'Route cache outcomes (hit, miss, down, off), by kind',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    throttled: new Counter({
      name: 'zmproxy_throttled_logins_total',
      help: 'Logins rejected by the IP or user login throttle',
      labelNames: ['kind'],
      registers,
    }),
    duration: new Histogram({
      name: 'zmproxy_lookup_duration_seconds',
      help: 'Time to decide a lookup, by kind',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ldapSeconds: new Histogram({
      name: 'zmproxy_ldap_duration_seconds',
      help: 'Latency of LDAP operations (searches and password binds)',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    memcachedSeconds: new Histogram({
      name: 'zmproxy_memcached_duration_seconds',
      help: 'Latency of memcached commands',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    // Every worker follows the same directory: the cluster reports one worker's figures, not
    // their sum (a sum would count one change once per worker).
    ringRebuilds: new Counter({
      name: 'zmproxy_lookup_ring_rebuilds_total',
      help: 'memcached rings rebuilt because the directory named other memcached servers',
      aggregator: 'max',
      registers,
    }),
    memcachedServers: new Gauge({
      name: 'zmproxy_lookup_memcached_servers',
      help: 'memcached servers in the ring in use',
      aggregator: 'max',
      registers,
    }),
    info: new Gauge({
      name: 'zmproxy_lookup_info',
      help: 'Which server this lookup service is (zimbra_server_hostname) and which directory revision (newest contextCSN, or the fallback fingerprint) it follows',
      labelNames: ['server', 'revision'],
      aggregator: 'first',
      registers,
    }),
  };
  AggregatorRegistry.setRegistries(registry);
  return metrics;
}

/** The aggregating registry of the cluster primary. */
export function createClusterRegistry(): AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> {
  return new AggregatorRegistry();
}
