/**
 * Check `commercial-certificate`: Zimbra keeps a CA-signed pair in
 * `<workdir>/ssl/zimbra/commercial/commercial.{crt,key}` and `zmcertmgr deploycrt comm` copies it
 * (the certificate with `commercial_ca.crt` appended) to `conf/nginx.{crt,key}`, the proxy's
 * default pair (docs/zimbra-notes.md "The commercial certificate"). When the commercial pair
 * exists and the default pair nginx serves is another certificate or key, the proxy still shows
 * the old (often self-signed) one. Compared by the certificate's SHA-256 fingerprint and the key's
 * public half, so a copy with the chain appended counts as the same.
 */
import { defineCheck } from '../check.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import type { CertificateFacts } from '../probes/certificates.js';

const ID = 'commercial-certificate';

/** Where the commercial pair lives below the work directory (Zimbra: /opt/zimbra). */
export function commercialPaths(workdir: string): {
  dir: string;
  certPath: string;
  keyPath: string;
} {
  const dir = `${workdir}/ssl/zimbra/commercial`;
  return { dir, certPath: `${dir}/commercial.crt`, keyPath: `${dir}/commercial.key` };
}

/** The findings of the commercial-certificate check. */
export function checkCommercialCertificate(
  commercial: CertificateFacts,
  deployed: CertificateFacts | undefined,
  where: { workdir: string; nginxGroup: string },
): Finding[] {
  const { certPath, keyPath, dir } = commercialPaths(where.workdir);
  const { cert, key } = commercial;
  if (!cert.ok && cert.missing && !key.ok && key.missing) {
    return [okFinding(ID, dir, 'no commercial certificate: nothing to compare')];
  }
  const subject = certPath;
  if (!cert.ok || !key.ok) {
    return [
      {
        check: ID,
        severity: 'warn',
        subject,
        evidence: [
          ...(cert.ok ? [] : [`${certPath}: ${cert.error}`]),
          ...(key.ok ? [] : [`${keyPath}: ${key.error}`]),
        ].join('; '),
        explanation:
          'a commercial pair is half there or unreadable, so it cannot be the one nginx serves; zmcertmgr keeps the certificate and its key side by side',
        fix: `ls -l ${dir}`,
      },
    ];
  }
  if (key.matches === false) {
    return [
      {
        check: ID,
        severity: 'warn',
        subject,
        evidence: `${keyPath} does not belong to ${certPath} (their public keys differ)`,
        explanation:
          'nginx refuses to start with a key that does not match its certificate; deploying this pair would break the proxy. The key is the one the certificate signing request was made with',
        fix: `openssl x509 -noout -pubkey -in ${certPath} | sha256sum && openssl pkey -pubout -in ${keyPath} | sha256sum`,
      },
    ];
  }
  const leaf = cert.chain[0];
  const deployedLeaf = deployed?.cert.ok === true ? deployed.cert.chain[0] : undefined;
  const deployedKey = deployed?.key.ok === true ? deployed.key.publicKeySha256 : undefined;
  const sameCert =
    leaf?.fingerprint !== undefined && leaf.fingerprint === deployedLeaf?.fingerprint;
  const sameKey = key.publicKeySha256 !== undefined && key.publicKeySha256 === deployedKey;
  const crt = deployed?.pair.certPath ?? `${where.workdir}/conf/nginx.crt`;
  const kf = deployed?.pair.keyPath ?? `${where.workdir}/conf/nginx.key`;
  if (sameCert && sameKey) {
    return [
      okFinding(ID, subject, `${crt} and ${kf} are the commercial pair (${leaf?.subject ?? ''})`),
    ];
  }
  const differs = [
    ...(sameCert
      ? []
      : [
          `${crt} is ${deployedLeaf === undefined ? 'unreadable' : `another certificate (${deployedLeaf.subject})`}`,
        ]),
    ...(sameKey ? [] : [`${kf} is ${deployedKey === undefined ? 'unreadable' : 'another key'}`]),
  ];
  return [
    {
      check: ID,
      severity: 'warn',
      subject,
      evidence: `commercial certificate ${leaf?.subject ?? ''} (issuer ${leaf?.issuer ?? ''}), but ${differs.join(' and ')}`,
      explanation:
        "clients get the default certificate nginx serves, not the commercial one: the commercial pair was renewed or installed without being deployed. Zimbra's command is zmcertmgr deploycrt comm (it appends commercial_ca.crt, the CA chain, to the certificate); with zmproxy copy the pair to the default paths, the key readable by nginx's workers, and reload nginx",
      fix: [
        `cat ${certPath} ${dir}/commercial_ca.crt > ${crt}`,
        `cp ${keyPath} ${kf}`,
        `chgrp ${where.nginxGroup} ${kf}`,
        `chmod 0640 ${kf}`,
        `zmproxyctl reload -w ${where.workdir}`,
      ].join(' && '),
    },
  ];
}

/** The `commercial-certificate` check. */
export const commercialCertificateCheck = defineCheck({
  id: ID,
  title: 'Commercial certificate',
  needs: ['commercialCertificate', 'certificates', 'layout', 'localConfig'],
  run: ({ commercialCertificate, certificates, layout, localConfig }) =>
    checkCommercialCertificate(
      commercialCertificate,
      certificates.find((facts) => facts.pair.subject === 'default'),
      {
        workdir: layout.paths.workdir,
        nginxGroup: localConfig('zmproxy_nginx_group') || 'nogroup',
      },
    ),
});
