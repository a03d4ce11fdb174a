/**
 * The doctor's checks, in report order: run-doctor.ts runs each one whose inputs it could gather,
 * and the human report prints them in this order under their titles. A new check is one file in
 * this folder and one line here (docs/maintaining.md "Add a doctor check").
 */
import type { DoctorCheck } from '../check.js';
import { certificatesCheck } from './certificates.js';
import { commercialCertificateCheck } from './commercial-certificate.js';
import { deployedLookupHandlersCheck } from './deployed-lookup-handlers.js';
import { directoryValuesCheck } from './directory-values.js';
import { externalRoutesCheck } from './external-routes.js';
import { imapIdCheck } from './imap-id.js';
import { keyAccessCheck } from './key-access.js';
import { lookupHandlersCheck } from './lookup-handlers.js';
import { lookupServiceCheck } from './lookup-service.js';
import { mailReferModeCheck } from './mail-refer-mode.js';
import { nginxLogsCheck } from './nginx-logs.js';
import { originatingIpHeaderCheck } from './originating-ip-header.js';
import { reachabilityCheck } from './reachability.js';
import { restUrlsCheck } from './rest-urls.js';
import { sslUpstreamCheck } from './ssl-upstream.js';
import { trustedIpsCheck } from './trusted-ips.js';
import { upstreamTimeoutsCheck } from './upstream-timeouts.js';

/** Every check, in report order. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  lookupHandlersCheck,
  deployedLookupHandlersCheck,
  lookupServiceCheck,
  reachabilityCheck,
  nginxLogsCheck,
  upstreamTimeoutsCheck,
  certificatesCheck,
  commercialCertificateCheck,
  keyAccessCheck,
  externalRoutesCheck,
  imapIdCheck,
  trustedIpsCheck,
  originatingIpHeaderCheck,
  mailReferModeCheck,
  sslUpstreamCheck,
  restUrlsCheck,
  directoryValuesCheck,
];

/** The title of a check id (the id itself for an unknown one). */
export function checkTitle(id: string): string {
  return DOCTOR_CHECKS.find((check) => check.id === id)?.title ?? id;
}
