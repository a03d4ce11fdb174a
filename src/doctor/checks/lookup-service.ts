/**
 * Check `lookup-service`: the lookup services nginx asks (localconfig `zmproxy_lookup_servers`,
 * model/lookup-topology.ts) answer `/healthz` over their scheme (a TLS handshake with https), and
 * one auth_http request through nginx's own loopback auth server gets an Auth-Status from one of
 * them: the path every IMAP and POP3 login takes. With `nle` the lookup-handlers and
 * reachability checks cover Zimbra's extension instead.
 */
import type { LookupTopology } from '../../model/lookup-topology.js';
import { endpointUrl } from '../../model/lookup-topology.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';

/** What the probes saw. */
export interface LookupServiceFacts {
  topology: LookupTopology;
  workdir: string;
  /** One answer per service: undefined error means `/healthz` answered 200. */
  health: readonly { url: string; error: string | undefined }[];
  /** The auth_http request through nginx; undefined when the configuration has no mail. */
  authHttp: { listen: string; status?: string; error?: string } | undefined;
}

const WHY =
  'nginx asks the lookup service for every IMAP and POP3 login and for web routes; without an answer, IMAP and POP3 clients get "Login service temporarily unavailable" and web requests go round robin';

/** The findings of the lookup-service check. */
export function checkLookupService(facts: LookupServiceFacts): Finding[] {
  const { topology, workdir } = facts;
  if (topology.kind === 'nle') return [];
  const findings: Finding[] = [];
  for (const { url, error } of facts.health) {
    if (error === undefined) {
      findings.push(okFinding('lookup-service', `lookup service ${url}`, 'GET /healthz: 200'));
      continue;
    }
    findings.push({
      check: 'lookup-service',
      severity: 'fail',
      subject: `lookup service ${url}`,
      evidence: `GET ${url}/healthz: ${error}`,
      explanation: `${WHY}. ${topology.kind === 'local' ? `The local service (localconfig zmproxy_lookup_bind_address and zmproxy_lookup_port) is not running or does not listen there; its log is ${workdir}/log/zmproxy-lookup.log` : 'A remote service is down, or a firewall or TLS setting stands between this proxy and it'}.`,
      fix:
        topology.kind === 'local'
          ? `zmproxyctl start-lookup -w ${workdir}`
          : `on ${url.replace(/^https?:\/\//, '')}: zmproxyctl start-lookup -w /opt/zimbra`,
    });
  }
  const auth = facts.authHttp;
  if (auth === undefined) return findings;
  const services =
    topology.kind === 'local'
      ? endpointUrl(topology.scheme, topology.connect)
      : topology.servers.map((s) => endpointUrl(topology.scheme, s)).join(' ');
  if (auth.error !== undefined) {
    findings.push({
      check: 'lookup-service',
      severity: 'fail',
      subject: `nginx auth_http ${auth.listen}`,
      evidence: `an auth_http request to nginx's loopback auth server ${auth.listen}: ${auth.error}`,
      explanation: `nginx's mail module sends every login there first; nothing answers, so nginx is not running or serves a configuration without it`,
      fix: `zmproxyctl start -w ${workdir}`,
    });
  } else if (/temporarily unavailable/i.test(auth.status ?? '')) {
    findings.push({
      check: 'lookup-service',
      severity: 'fail',
      subject: `nginx auth_http ${auth.listen}`,
      evidence: `an auth_http request through nginx got "Auth-Status: ${auth.status ?? ''}"`,
      explanation: `${WHY}. nginx reached none of ${services} (the served configuration may name other services than localconfig does now)`,
      fix: `zmproxyctl start-lookup -w ${workdir} && zmproxyconfgen --apply -w ${workdir}`,
    });
  } else {
    findings.push(
      okFinding(
        'lookup-service',
        `nginx auth_http ${auth.listen}`,
        `a test login through nginx reached a lookup service (${services}), which answered "${auth.status ?? ''}"`,
      ),
    );
  }
  return findings;
}

/** The base URLs of the services nginx asks. */
export function lookupServiceUrls(topology: LookupTopology): string[] {
  if (topology.kind === 'local') return [endpointUrl(topology.scheme, topology.connect)];
  if (topology.kind === 'remote')
    return topology.servers.map((s) => endpointUrl(topology.scheme, s));
  return [];
}

/** The `lookup-service` check. */
export const lookupServiceCheck = defineCheck({
  id: 'lookup-service',
  title: 'Lookup service',
  needs: ['lookupService'],
  run: ({ lookupService }) => checkLookupService(lookupService),
});
