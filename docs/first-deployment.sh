#!/bin/sh
# First deployment of zmproxy: from a Debian host with a reachable Zimbra LDAP to a proxy that
# logs IMAP, POP3 and web users in on their mailbox servers. README.md ("First deployment")
# shows these commands; test/integration/first-deployment.test.ts runs this very file on a fresh
# work directory against the test stack.
#
# Settings (environment):
#   ZIMBRA_HOME         work directory (default /opt/zimbra)
#   PROXY_HOSTNAME      this proxy's server name in the directory (default: hostname -f)
#   LDAP_URL            Zimbra's LDAP, e.g. ldap://ldap.example.com:389 (required)
#   LDAP_BIND_DN        default uid=zimbra,cn=admins,cn=zimbra
#   LDAP_PASSWORD_FILE  file holding the bind password on its first line (required)
#   ZMPROXY_PACKAGE     zmproxy's npm package (a tarball from npm pack); used when zmproxyctl is
#                       not on PATH yet
set -eu

ZIMBRA_HOME=${ZIMBRA_HOME:-/opt/zimbra}
PROXY_HOSTNAME=${PROXY_HOSTNAME:-$(hostname -f)}
LDAP_BIND_DN=${LDAP_BIND_DN:-uid=zimbra,cn=admins,cn=zimbra}
: "${LDAP_URL:?set LDAP_URL to Zimbra's LDAP, e.g. ldap://ldap.example.com:389}"
: "${LDAP_PASSWORD_FILE:?set LDAP_PASSWORD_FILE to a file holding the LDAP bind password}"

# 1. Stock nginx with the mail and stream modules (stream carries TLS to the mailbox servers and the
#    IMAPS/POP3S SNI router; docs/mail-tls.md), openssl for the first certificate, Node.js 20.19 or
#    later. nginx runs under zmproxyctl (or docs/systemd/zmproxy-nginx.service), not as Debian's
#    nginx service, which would hold port 80 with its default site.
if ! command -v nginx >/dev/null || [ ! -e /usr/lib/nginx/modules/ngx_mail_module.so ] ||
  [ ! -e /usr/lib/nginx/modules/ngx_stream_module.so ]; then
  apt-get install -y --no-install-recommends nginx libnginx-mod-mail libnginx-mod-stream
fi
command -v openssl >/dev/null || apt-get install -y --no-install-recommends openssl
command -v node >/dev/null || { echo 'install Node.js 20.19 or later first' >&2; exit 1; }
if [ -d /run/systemd/system ]; then systemctl disable --now nginx.service; fi

# 2. zmproxy's commands on PATH (zmproxyctl, zmproxyconfgen, zmprov, zmlocalconfig, zmproxy, …).
command -v zmproxyctl >/dev/null || npm install -g "${ZMPROXY_PACKAGE:?set ZMPROXY_PACKAGE to zmproxy-<version>.tgz}"

# 3. The work directory: directories nginx writes to, a 0600 localconfig with the LDAP settings
#    and a generated lookup shared key, a self-signed certificate until you install a real one.
zmproxyctl setup -w "$ZIMBRA_HOME" --server "$PROXY_HOSTNAME" \
  --ldap-url "$LDAP_URL" --bind-dn "$LDAP_BIND_DN" --bind-password-file "$LDAP_PASSWORD_FILE"

# 4. The directory as the proxy sees it: its server entry, the proxy attributes, the lookup
#    targets (each must run the mailbox service), and what the generator would warn about.
# A host new to the directory gets its server entry first; set its ports and modes afterwards
# with zmprov ms or zmproxyconfig.
zmprov -w "$ZIMBRA_HOME" gs "$PROXY_HOSTNAME" zimbraServiceEnabled >/dev/null 2>&1 ||
  zmprov -w "$ZIMBRA_HOME" cs "$PROXY_HOSTNAME" zimbraServiceInstalled proxy zimbraServiceEnabled proxy
zmprov -w "$ZIMBRA_HOME" gs "$PROXY_HOSTNAME" zimbraServiceEnabled
zmprov -w "$ZIMBRA_HOME" garpu
zmproxyconfgen -w "$ZIMBRA_HOME" --apply --no-reload || [ $? -eq 10 ] # 10: published

# 5. Start: regenerates, starts the lookup service on 127.0.0.1:7077 and nginx, and says done
#    only when a test login through nginx reaches the lookup service.
zmproxyctl start -w "$ZIMBRA_HOME"

# 6. Check everything the way an admin would by hand; exit 1 names each failure with its fix.
zmproxy doctor -w "$ZIMBRA_HOME"
