#!/usr/bin/env bash
# zmproxy's test stack: real slapd, memcached, nginx (mail module) and two dovecot instances on
# loopback ports, all inside one directory, stopped by PID (Debian 12, no systemd, root; see
# docs/maintaining.md "Run the integration stack").
#
#   scripts/stack.sh start              install what is missing, start everything, print KEY=VALUE
#   scripts/stack.sh stop               stop what this stack started (STACK_DIR required)
#   scripts/stack.sh status             one line per daemon; exit 0 when all run, 3 otherwise
#   scripts/stack.sh load FILE.ldif...  ldapadd to the running slapd (schema-checked), missing
#                                       parent entries created first
#   scripts/stack.sh reset [FILE...]    empty the directory and slapadd FILEs offline without
#                                       schema checks (as a slapcat backup is restored), restart
#                                       slapd on the same port
#   scripts/stack.sh env                print the KEY=VALUE lines of a running stack
#
# Environment: STACK_DIR (default for start: a new mktemp dir), LDAP_PORT, LDAPS_PORT,
# MEMCACHED_PORT, NGINX_HTTP_PORT, NGINX_IMAP_PORT, NGINX_POP3_PORT, NGINX_AUTH_PORT (the lookup
# service nginx asks; nothing listens there by default), DOVECOT_IMAP_PORT_1, DOVECOT_POP3_PORT_1,
# DOVECOT_IMAP_PORT_2, DOVECOT_POP3_PORT_2, DOVECOT_IMAPS_PORT_1, DOVECOT_POP3S_PORT_1,
# DOVECOT_IMAPS_PORT_2, DOVECOT_POP3S_PORT_2 (TLS only; each dovecot's self-signed certificate names
# dovecot<i>.stack.test, localhost and 127.0.0.1 and is in DOVECOT_TLS_CERT_<i>), LDAP_BIND_PASSWORD, AD_LDAP_PORT and AD_BIND_PASSWORD
# (a second slapd, dc=ad,dc=test, standing in for an external directory), STACK_SCHEMA_FILE (a prebuilt
# cn=config schema LDIF; default: `node scripts/schema.js`, which needs `npm run build`).
# Values printed contain no white space. Progress goes to stderr, KEY=VALUE lines to stdout.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly PACKAGES=(slapd ldap-utils nginx libnginx-mod-mail libnginx-mod-stream memcached dovecot-imapd
  dovecot-pop3d curl systemd logrotate)
readonly LDAP_BIND_DN='uid=zimbra,cn=admins,cn=zimbra'
readonly INSTALL_LOCK=/var/lock/zmproxy-stack-install.lock
readonly POLICY=/usr/sbin/policy-rc.d
readonly POLICY_MARK='# zmproxy stack.sh: deny daemon starts during install'
readonly DOVECOT_INSTANCES=(1 2)

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
  printf 'stack: error: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf 'stack: hint: %s\n' "$2" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# packages

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = 'install ok installed' ] || printf '%s\n' "$pkg"
  done
}

install_packages() {
  local missing=()
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}" \
    "run as root, or: apt-get install --no-install-recommends ${PACKAGES[*]}"
  # One installer at a time across stacks; apt itself waits for other users of its lock.
  exec 9>"$INSTALL_LOCK"
  flock -w 900 9 || die "timed out waiting for $INSTALL_LOCK"
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -gt 0 ]; then
    local started=$SECONDS created_policy=0 apt_log
    apt_log="$(mktemp "${TMPDIR:-/tmp}/zmproxy-apt.XXXXXX")"
    log "installing ${missing[*]} (log: $apt_log)"
    # No systemd: without a policy-rc.d exiting 101 each package would start its daemon on a
    # public default port. Keep an existing one (Docker images ship one), remove only ours.
    if [ ! -e "$POLICY" ]; then
      printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_MARK" >"$POLICY"
      chmod 755 "$POLICY"
      created_policy=1
    fi
    local rc=0
    {
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
          --no-install-recommends "${missing[@]}"
    } </dev/null >>"$apt_log" 2>&1 || rc=$?
    if [ "$created_policy" -eq 1 ] && grep -qF "$POLICY_MARK" "$POLICY" 2>/dev/null; then
      rm -f "$POLICY"
    fi
    [ "$rc" -eq 0 ] || die "apt-get failed (exit $rc); last lines of $apt_log:
$(tail -n 15 "$apt_log")" 'check that the Debian mirrors are reachable, then run again'
    log "installed in $((SECONDS - started)) s"
    rm -f "$apt_log"
  fi
  flock -u 9
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# processes

# The PID in a pid file, when that process is alive (not a zombie) and its command line names
# this stack's directory (a recycled PID is never ours).
live_pid() {
  local file="$1" pid state cmdline
  [ -s "$file" ] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state="$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ "$state" != Z ] && [ "$state" != X ] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  case "$cmdline" in *"$STACK_DIR"*) printf '%s\n' "$pid" ;; *) return 1 ;; esac
}

# Waits until "$@" succeeds (every 50 ms, at most $1 seconds).
wait_for() {
  local seconds="$1" tries
  shift
  tries=$((seconds * 20))
  while [ "$tries" -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
    tries=$((tries - 1))
  done
  return 1
}

# Sends TERM to each pid, waits up to 10 s for all, then KILLs what is left.
stop_pids() {
  local pid left tries=200
  [ $# -eq 0 ] && return 0
  kill -TERM "$@" 2>/dev/null || true
  while [ "$tries" -gt 0 ]; do
    left=0
    for pid in "$@"; do pid_alive "$pid" && left=1; done
    [ "$left" -eq 0 ] && return 0
    sleep 0.05
    tries=$((tries - 1))
  done
  for pid in "$@"; do pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null; done
  return 0
}

pid_alive() {
  local state
  [ -r "/proc/$1/stat" ] || return 1
  state="$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ "$state" != Z ] && [ "$state" != X ]
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints N distinct free loopback ports (all held open at once, so they differ).
free_ports() {
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]);
    const servers = [];
    const next = () => {
      if (servers.length === n) {
        console.log(servers.map((s) => s.address().port).join(" "));
        servers.forEach((s) => s.close());
        return;
      }
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => { servers.push(s); next(); });
    };
    next();
  ' "$1"
}

# ---------------------------------------------------------------------------------------------
# state

ENV_KEYS=(STACK_DIR LDAP_URL LDAPS_URL LDAP_PORT LDAPS_PORT LDAP_BIND_DN LDAP_BIND_PASSWORD
  LDAP_CA_FILE MEMCACHED_PORT MEMCACHED_SERVERS NGINX_HTTP_PORT NGINX_IMAP_PORT NGINX_POP3_PORT
  NGINX_AUTH_PORT NGINX_PREFIX DOVECOT_IMAP_PORT_1 DOVECOT_POP3_PORT_1 DOVECOT_IMAP_PORT_2
  DOVECOT_POP3_PORT_2 DOVECOT_IMAPS_PORT_1 DOVECOT_POP3S_PORT_1 DOVECOT_IMAPS_PORT_2
  DOVECOT_POP3S_PORT_2 DOVECOT_TLS_CERT_1 DOVECOT_TLS_CERT_2
  DOVECOT_USERS_FILE DOVECOT_TEST_USER DOVECOT_TEST_PASSWORD
  AD_LDAP_PORT AD_LDAP_URL AD_BIND_DN AD_BIND_PASSWORD AD_BASE_DN)

load_env_file() {
  local key value
  [ -f "$STACK_DIR/stack.env" ] || return 0
  while IFS='=' read -r key value; do
    case "$key" in
      STACK_DIR | '' | \#*) ;;
      *) [ -n "${!key:-}" ] || printf -v "$key" '%s' "$value" ;;
    esac
  done <"$STACK_DIR/stack.env"
}

print_env() {
  local key
  for key in "${ENV_KEYS[@]}"; do printf '%s=%s\n' "$key" "${!key:-}"; done
}

need_stack_dir() {
  [ -n "${STACK_DIR:-}" ] || die "STACK_DIR is not set" \
    "give the directory 'stack.sh start' printed: STACK_DIR=/tmp/... scripts/stack.sh $1"
  [ -d "$STACK_DIR" ] || die "STACK_DIR $STACK_DIR does not exist"
  STACK_DIR="$(cd "$STACK_DIR" && pwd)"
  load_env_file
}

# ---------------------------------------------------------------------------------------------
# slapd (cn=config in $STACK_DIR/slapd/slapd.d, null suffix: cn=zimbra and dc=... in one db)

slapd_dir() { printf '%s/slapd' "$STACK_DIR"; }

# config_head_ldif DIR MODULES [LINE…]: the cn=config entry of the slapd in DIR (its pid and args
# files, then the LINEs) and its module entry (back_mdb, then the MODULES, space-separated).
config_head_ldif() {
  local s="$1" modules="$2" module
  shift 2
  printf 'dn: cn=config\nobjectClass: olcGlobal\ncn: config\n'
  printf 'olcPidFile: %s/slapd.pid\nolcArgsFile: %s/slapd.args\n' "$s" "$s"
  [ "$#" -eq 0 ] || printf '%s\n' "$@"
  printf '\ndn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\n'
  printf 'olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\n'
  for module in $modules; do printf 'olcModuleLoad: %s\n' "$module"; done
}

# The cn=schema entry of a cn=config LDIF: the standard schemas, then the files given (URLs).
schema_ldif() {
  printf 'dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n'
  local file
  for file in /etc/ldap/schema/core.ldif /etc/ldap/schema/cosine.ldif /etc/ldap/schema/inetorgperson.ldif; do
    printf 'include: file://%s\n' "$file"
  done
  for file in "$@"; do printf 'include: %s\n' "$file"; done
}

write_slapd_config() {
  local s
  s="$(slapd_dir)"
  mkdir -p "$s/db" "$s/slapd.d"
  if [ -n "${STACK_SCHEMA_FILE:-}" ]; then
    cp "$STACK_SCHEMA_FILE" "$s/zimbra.ldif"
  else
    [ -f "$SCRIPT_DIR/../dist/sources/ldap/openldap-schema.js" ] ||
      die 'dist/ is missing' "run 'npm run build' first (the schema comes from the built catalog)"
    node "$SCRIPT_DIR/schema.js" "$s/zimbra.ldif"
  fi
  # A self-signed certificate for ldaps:// and StartTLS, valid for 127.0.0.1 and localhost.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj '/CN=localhost' -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
    -keyout "$s/tls.key" -out "$s/tls.crt" >/dev/null 2>&1 || die 'openssl could not make a certificate'
  cat >"$s/config.ldif" <<EOF
$(config_head_ldif "$s" pw-sha2 'olcSizeLimit: unlimited' "olcTLSCertificateFile: $s/tls.crt" \
  "olcTLSCertificateKeyFile: $s/tls.key")

$(schema_ldif "file://$s/zimbra.ldif")

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: $LDAP_BIND_DN

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix:
olcRootDN: $LDAP_BIND_DN
olcRootPW: $LDAP_BIND_PASSWORD
olcDbDirectory: $s/db
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcSizeLimit: unlimited
EOF
  slapadd -n0 -F "$s/slapd.d" -l "$s/config.ldif" >>"$s/slapd.log" 2>&1 ||
    die "slapadd of the cn=config failed; see $s/slapd.log"
}

ldap_ready() {
  ldapsearch -x -LLL -o nettimeout=2 -H "$LDAP_URL" -D "$LDAP_BIND_DN" -w "$LDAP_BIND_PASSWORD" \
    -s base -b '' '(objectClass=*)' namingContexts
}

start_slapd() {
  run_slapd slapd "$(slapd_dir)" write_slapd_config "$LDAP_PORT" \
    "ldap://127.0.0.1:$LDAP_PORT/ ldaps://127.0.0.1:$LDAPS_PORT/" ldap_ready "$LDAP_URL"
}

# run_slapd NAME DIR WRITE_CONFIG PORT LISTEN_URLS READY URL: starts the slapd whose cn=config is
# in DIR (written by WRITE_CONFIG the first time) unless it runs, and waits until READY answers.
run_slapd() {
  local name="$1" s="$2" write_config="$3" port="$4" urls="$5" ready="$6" url="$7"
  if live_pid "$s/slapd.pid" >/dev/null; then
    log "$name already running on $port"
    return 0
  fi
  [ -d "$s/slapd.d/cn=config" ] || "$write_config"
  port_in_use "$port" && die "port 127.0.0.1:$port ($name) is taken by a process this stack did not start"
  rm -f "$s/slapd.pid"
  # -d 0: stay in the foreground (logs to our file); setsid: out of the caller's session.
  setsid slapd -F "$s/slapd.d" -h "$urls" -d 0 </dev/null >>"$s/slapd.log" 2>&1 &
  wait_for 10 "$ready" || die "$name did not answer on $url; see $s/slapd.log"
  wait_for 5 test -s "$s/slapd.pid" || true
}

stop_slapd_now() {
  local pid
  pid="$(live_pid "$(slapd_dir)/slapd.pid")" || return 0
  stop_pids "$pid"
}

# ---------------------------------------------------------------------------------------------
# A second slapd standing in for an external directory ("AD": zimbraAuthMech ldap/ad domains bind
# there): its own suffix dc=ad,dc=test, standard schema only, people under ou=people. Anonymous
# clients may search and bind, never read userPassword.

ad_dir() { printf '%s/ad-slapd' "$STACK_DIR"; }

write_ad_config() {
  local s
  s="$(ad_dir)"
  mkdir -p "$s/db" "$s/slapd.d"
  cat >"$s/config.ldif" <<EOF
$(config_head_ldif "$s" '')

$(schema_ldif)

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: $AD_BIND_DN

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $AD_BASE_DN
olcRootDN: $AD_BIND_DN
olcRootPW: $AD_BIND_PASSWORD
olcDbDirectory: $s/db
olcDbMaxSize: 67108864
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcAccess: to attrs=userPassword by anonymous auth by * none
olcAccess: to * by * read
EOF
  slapadd -n0 -F "$s/slapd.d" -l "$s/config.ldif" >>"$s/slapd.log" 2>&1 ||
    die "slapadd of the AD cn=config failed; see $s/slapd.log"
  cat >"$s/base.ldif" <<EOF
dn: $AD_BASE_DN
objectClass: dcObject
objectClass: organization
dc: ad
o: external directory of the zmproxy test stack

dn: ou=people,$AD_BASE_DN
objectClass: organizationalUnit
ou: people
EOF
  slapadd -q -n1 -F "$s/slapd.d" -l "$s/base.ldif" >>"$s/slapd.log" 2>&1 ||
    die "slapadd of the AD base entries failed; see $s/slapd.log"
}

ad_ready() {
  ldapsearch -x -LLL -o nettimeout=2 -H "$AD_LDAP_URL" -D "$AD_BIND_DN" -w "$AD_BIND_PASSWORD" \
    -s base -b "$AD_BASE_DN" '(objectClass=*)' dn
}

start_ad_slapd() {
  run_slapd 'AD slapd' "$(ad_dir)" write_ad_config "$AD_LDAP_PORT" "ldap://127.0.0.1:$AD_LDAP_PORT/" \
    ad_ready "$AD_LDAP_URL"
}

# ---------------------------------------------------------------------------------------------
# LDIF loading

# fill_parents EXISTING STRIP FILE...: prints the LDIF of the files with a placeholder entry
# inserted before the first record whose parent is neither defined earlier nor listed in the file
# EXISTING (normalised DNs that exist). Placeholders: cn -> organizationalRole, ou ->
# organizationalUnit, dc -> dcObject+organization, o -> organization, uid -> account, l ->
# locality, others -> organizationalRole+extensibleObject. STRIP=1 (ldapadd): drops the
# operational attributes slapd will not take even with relax (structuralObjectClass, entryCSN).
# STRIP=0 (slapadd -s): adds the structuralObjectClass slapd would have computed, so that the
# entries can be modified online later.
fill_parents() {
  local existing="$1" strip="$2"
  shift 2
  awk -v existing="$existing" -v strip="$strip" '
    function norm(dn) { dn = tolower(dn); gsub(/[ \t]*,[ \t]*/, ",", dn); gsub(/[ \t]*=[ \t]*/, "=", dn); sub(/^[ \t]+/, "", dn); sub(/[ \t]+$/, "", dn); return dn }
    function parent(dn,   i, c) {
      for (i = 1; i <= length(dn); i++) {
        c = substr(dn, i, 1)
        if (c == "\\") { i++; continue }
        if (c == ",") return substr(dn, i + 1)
      }
      return ""
    }
    function placeholder(dn,   p, rdn, attr, value, eq, soc) {
      p = parent(dn)
      if (p != "" && !(norm(p) in known)) placeholder(p)
      rdn = substr(dn, 1, length(dn) - (p == "" ? 0 : length(p) + 1))
      eq = index(rdn, "="); attr = tolower(substr(rdn, 1, eq - 1)); value = substr(rdn, eq + 1)
      sub(/^[ \t]+/, "", attr); sub(/^[ \t]+/, "", value)
      print "dn: " dn
      if (attr == "cn") soc = "organizationalRole"
      else if (attr == "ou") soc = "organizationalUnit"
      else if (attr == "dc") { print "objectClass: dcObject"; print "o: " value; soc = "organization" }
      else if (attr == "o") soc = "organization"
      else if (attr == "uid") soc = "account"
      else if (attr == "l") soc = "locality"
      else { print "objectClass: extensibleObject"; print "cn: " value; soc = "organizationalRole" }
      print "objectClass: " soc
      if (!strip) print "structuralObjectClass: " soc
      print attr ": " value
      print ""
      known[norm(dn)] = 1
    }
    # The structural class slapd would have computed (slapadd -s does not): the first of the
    # entry classes in STRUCTURAL order, most derived first.
    function structural(   i, j, oc, best, rank) {
      best = ""; rank = 999
      for (i = 1; i <= n; i++) {
        if (tolower(rec[i]) !~ /^objectclass:/) continue
        oc = tolower(rec[i]); sub(/^objectclass:[ \t]*/, "", oc); sub(/[ \t]+$/, "", oc)
        for (j = 1; j <= nstruct; j++) if (tolower(structs[j]) == oc && j < rank) { rank = j; best = structs[j] }
      }
      return best
    }
    function flush(   p, i, has_soc, soc) {
      if (n == 0) return
      if (dn != "") {
        p = parent(dn)
        if (p != "" && !(norm(p) in known)) placeholder(p)
        known[norm(dn)] = 1
      }
      has_soc = 0
      for (i = 1; i <= n; i++) { print rec[i]; if (tolower(rec[i]) ~ /^structuralobjectclass:/) has_soc = 1 }
      if (!strip && !has_soc && dn != "") { soc = structural(); if (soc != "") print "structuralObjectClass: " soc }
      print ""
      n = 0; dn = ""
    }
    BEGIN {
      while ((getline line < existing) > 0) known[line] = 1
      n = 0; dn = ""
      nstruct = split("inetOrgPerson organizationalPerson residentialPerson person zimbraServer zimbraCOS zimbraAlias zimbraAlwaysOnCluster organizationalRole organizationalUnit organization domain account locality country device groupOfNames groupOfUniqueNames applicationProcess", structs, " ")
    }
    FNR == 1 { flush() }
    { sub(/\r$/, "") }
    /^$/ { flush(); next }
    /^ / && n > 0 { rec[n] = rec[n] substr($0, 2); if (n == 1 && rec[1] ~ /^dn: /) dn = substr(rec[1], 5); next }
    /^#/ { next }
    strip && tolower($0) ~ /^(structuralobjectclass|entrycsn|contextcsn):/ { next }
    { rec[++n] = $0; if (n == 1 && $0 ~ /^dn: /) dn = substr($0, 5) }
    END { flush() }
  ' "$@"
}

existing_dns() {
  ldapsearch -x -LLL -o ldif-wrap=no -H "$LDAP_URL" -D "$LDAP_BIND_DN" -w "$LDAP_BIND_PASSWORD" \
    -b '' -s sub '(objectClass=*)' 1.1 2>/dev/null |
    sed -n 's/^dn: //p' | awk '{ s = tolower($0); gsub(/[ \t]*,[ \t]*/, ",", s); gsub(/[ \t]*=[ \t]*/, "=", s); print s }'
}

cmd_load() {
  need_stack_dir load
  [ $# -gt 0 ] || die 'load needs at least one LDIF file' 'scripts/stack.sh load FILE.ldif...'
  local file work
  for file in "$@"; do [ -r "$file" ] || die "cannot read $file"; done
  live_pid "$(slapd_dir)/slapd.pid" >/dev/null || die 'slapd is not running' 'scripts/stack.sh start'
  work="$(mktemp -d "$STACK_DIR/load.XXXXXX")"
  existing_dns >"$work/existing"
  fill_parents "$work/existing" 1 "$@" >"$work/load.ldif"
  # relax (RFC draft-zeilenga-ldap-relax): accept the operational attributes slapcat prints.
  if ! ldapadd -x -H "$LDAP_URL" -D "$LDAP_BIND_DN" -w "$LDAP_BIND_PASSWORD" -e relax \
    -f "$work/load.ldif" >"$work/ldapadd.log" 2>&1; then
    cat "$work/ldapadd.log" >&2
    die "ldapadd of $* failed (entries before the failing one were added)" \
      'for LDIF that does not follow the schema, use: scripts/stack.sh reset FILE...'
  fi
  rm -rf "$work"
}

cmd_reset() {
  need_stack_dir reset
  local file s work
  for file in "$@"; do [ -r "$file" ] || die "cannot read $file"; done
  s="$(slapd_dir)"
  [ -d "$s/slapd.d/cn=config" ] || die "no slapd in $STACK_DIR" 'scripts/stack.sh start'
  work="$(mktemp -d "$STACK_DIR/reset.XXXXXX")"
  : >"$work/existing"
  [ $# -gt 0 ] && fill_parents "$work/existing" 0 "$@" >"$work/load.ldif"
  stop_slapd_now
  rm -f "$s"/db/*.mdb
  if [ $# -gt 0 ]; then
    # -s: no schema check, -q: quick; what `zmslapadd` does with a backup.
    slapadd -s -q -n1 -F "$s/slapd.d" -l "$work/load.ldif" >"$work/slapadd.log" 2>&1 || {
      cat "$work/slapadd.log" >&2
      die "slapadd of $* failed"
    }
  fi
  start_slapd
  rm -rf "$work"
}

# ---------------------------------------------------------------------------------------------
# memcached (foreground under setsid: -d exits 0 even when bind fails)

start_memcached() {
  local m="$STACK_DIR/memcached"
  mkdir -p "$m"
  if live_pid "$m/memcached.pid" >/dev/null; then
    log "memcached already running on $MEMCACHED_PORT"
    return 0
  fi
  port_in_use "$MEMCACHED_PORT" && die "port 127.0.0.1:$MEMCACHED_PORT (memcached) is taken by a process this stack did not start"
  # argv[0] names the stack dir so that stop can tell our memcached from any other.
  # shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
  setsid bash -c 'exec -a "$0" memcached "$@"' "memcached:$m" -u memcache -l 127.0.0.1 \
    -p "$MEMCACHED_PORT" -U 0 -m 64 </dev/null >>"$m/memcached.log" 2>&1 &
  echo "$!" >"$m/memcached.pid"
  wait_for 10 memcached_ready || die "memcached did not answer on $MEMCACHED_PORT; see $m/memcached.log"
}

memcached_ready() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$MEMCACHED_PORT" || return 1
  printf 'version\r\n' >&3
  IFS= read -r -t 2 line <&3 || true
  exec 3>&-
  case "$line" in VERSION*) return 0 ;; *) return 1 ;; esac
}

# ---------------------------------------------------------------------------------------------
# dovecot: two IMAP/POP3 instances (mailbox upstreams), one passwd-file of users

start_dovecot() {
  local i="$1" d imap pop3 imaps pop3s
  d="$STACK_DIR/dovecot$i"
  imap="DOVECOT_IMAP_PORT_$i"
  pop3="DOVECOT_POP3_PORT_$i"
  imaps="DOVECOT_IMAPS_PORT_$i"
  pop3s="DOVECOT_POP3S_PORT_$i"
  imap="${!imap}"
  pop3="${!pop3}"
  imaps="${!imaps}"
  pop3s="${!pop3s}"
  mkdir -p "$d/run" "$d/state" "$d/mail"
  # IMAPS/POP3S (TLS only) with a self-signed certificate of this instance's own, so that a test
  # can trust one mailbox server and not the other.
  [ -f "$d/tls.crt" ] ||
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -subj "/CN=dovecot$i.stack.test" \
      -addext "subjectAltName=DNS:dovecot$i.stack.test,DNS:localhost,IP:127.0.0.1" \
      -keyout "$d/tls.key" -out "$d/tls.crt" >/dev/null 2>&1 ||
    die 'openssl could not make a certificate'
  if live_pid "$d/run/master.pid" >/dev/null; then
    log "dovecot$i already running on $imap/$pop3"
    return 0
  fi
  port_in_use "$imap" && die "port 127.0.0.1:$imap (dovecot$i imap) is taken by a process this stack did not start"
  port_in_use "$pop3" && die "port 127.0.0.1:$pop3 (dovecot$i pop3) is taken by a process this stack did not start"
  port_in_use "$imaps" && die "port 127.0.0.1:$imaps (dovecot$i imaps) is taken by a process this stack did not start"
  port_in_use "$pop3s" && die "port 127.0.0.1:$pop3s (dovecot$i pop3s) is taken by a process this stack did not start"
  chown nobody:nogroup "$d/mail"
  cat >"$d/dovecot.conf" <<EOF
# dovecot$i of the zmproxy test stack: a mailbox upstream (IMAP/POP3) on loopback.
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
instance_name = zmproxy-dovecot$i
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$d/tls.crt
ssl_key = <$d/tls.key
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$d/mail/%d/%n
pop3_uidl_format = %08Xu%08Xv
login_greeting = dovecot$i ready.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT_USERS_FILE
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $pop3
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $pop3s
    ssl = yes
  }
}
EOF
  rm -f "$d/run/master.pid"
  dovecot -c "$d/dovecot.conf" </dev/null >>"$d/dovecot.log" 2>&1 ||
    die "dovecot$i did not start; see $d/dovecot.log"
  wait_for 10 greets "$imap" '* OK' || die "dovecot$i did not greet on $imap; see $d/dovecot.log"
  wait_for 10 greets "$pop3" '+OK' || die "dovecot$i did not greet on $pop3; see $d/dovecot.log"
}

greets() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  IFS= read -r -t 2 line <&3 || true
  exec 3>&-
  case "$line" in "$2"*) return 0 ;; *) return 1 ;; esac
}

# ---------------------------------------------------------------------------------------------
# nginx: a minimal config that proves the binary, the mail module and the prefix work

start_nginx() {
  local n="$NGINX_PREFIX"
  mkdir -p "$n/logs" "$n/tmp"
  if live_pid "$n/nginx.pid" >/dev/null; then
    log "nginx already running on $NGINX_HTTP_PORT"
    return 0
  fi
  local port
  for port in "$NGINX_HTTP_PORT" "$NGINX_IMAP_PORT" "$NGINX_POP3_PORT"; do
    port_in_use "$port" && die "port 127.0.0.1:$port (nginx) is taken by a process this stack did not start"
  done
  cat >"$n/nginx.conf" <<EOF
# nginx of the zmproxy test stack. Generated configs get their own prefix; this one proves that
# nginx, its mail module and a temp prefix work here.
load_module /usr/lib/nginx/modules/ngx_mail_module.so;
worker_processes 1;
pid nginx.pid;
error_log logs/error.log info;
events { worker_connections 64; }
mail {
    auth_http 127.0.0.1:$NGINX_AUTH_PORT/auth;
    proxy_pass_error_message on;
    imap_auth plain login;
    pop3_auth plain;
    server { listen 127.0.0.1:$NGINX_IMAP_PORT; protocol imap; proxy on; }
    server { listen 127.0.0.1:$NGINX_POP3_PORT; protocol pop3; proxy on; }
}
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_HTTP_PORT;
        location / { default_type text/plain; return 200 "zmproxy test stack\n"; }
    }
}
EOF
  nginx -t -q -e "$n/logs/error.log" -p "$n/" -c "$n/nginx.conf" </dev/null >>"$n/logs/start.log" 2>&1 ||
    die "nginx -t failed; see $n/logs/start.log"
  rm -f "$n/nginx.pid" # nginx -t leaves an empty one behind
  nginx -e "$n/logs/error.log" -p "$n/" -c "$n/nginx.conf" </dev/null >>"$n/logs/start.log" 2>&1 ||
    die "nginx did not start; see $n/logs/start.log"
  wait_for 10 curl -fsS -m 2 "http://127.0.0.1:$NGINX_HTTP_PORT/" || die "nginx did not answer on $NGINX_HTTP_PORT"
  wait_for 10 greets "$NGINX_IMAP_PORT" '* OK' || die "nginx did not greet on IMAP $NGINX_IMAP_PORT"
}

# ---------------------------------------------------------------------------------------------
# commands

assign_ports() {
  local names=(LDAP_PORT LDAPS_PORT MEMCACHED_PORT NGINX_HTTP_PORT NGINX_IMAP_PORT NGINX_POP3_PORT
    NGINX_AUTH_PORT DOVECOT_IMAP_PORT_1 DOVECOT_POP3_PORT_1 DOVECOT_IMAP_PORT_2 DOVECOT_POP3_PORT_2
    AD_LDAP_PORT DOVECOT_IMAPS_PORT_1 DOVECOT_POP3S_PORT_1 DOVECOT_IMAPS_PORT_2 DOVECOT_POP3S_PORT_2)
  local name ports i=0
  read -r -a ports <<<"$(free_ports "${#names[@]}")"
  [ "${#ports[@]}" -eq "${#names[@]}" ] || die 'could not find free loopback ports (node)'
  for name in "${names[@]}"; do
    [ -n "${!name:-}" ] || printf -v "$name" '%s' "${ports[$i]}"
    i=$((i + 1))
  done
}

# The KEY=VALUE variables are read indirectly (print_env: ${!key}).
# shellcheck disable=SC2034
cmd_start() {
  local started=$SECONDS
  if [ -z "${STACK_DIR:-}" ]; then
    STACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zmproxy-stack.XXXXXX")"
  fi
  mkdir -p "$STACK_DIR"
  STACK_DIR="$(cd "$STACK_DIR" && pwd)"
  # dovecot's and nginx's unprivileged processes must traverse it (mktemp makes 0700).
  chmod 755 "$STACK_DIR"
  load_env_file
  install_packages
  assign_ports
  : "${LDAP_BIND_PASSWORD:=$(od -An -N12 -tx1 /dev/urandom | tr -dc '0-9a-f')}"
  LDAP_URL="ldap://127.0.0.1:$LDAP_PORT"
  LDAPS_URL="ldaps://127.0.0.1:$LDAPS_PORT"
  LDAP_CA_FILE="$(slapd_dir)/tls.crt"
  : "${AD_BIND_PASSWORD:=$(od -An -N12 -tx1 /dev/urandom | tr -dc '0-9a-f')}"
  AD_BASE_DN='dc=ad,dc=test'
  AD_BIND_DN="cn=admin,$AD_BASE_DN"
  AD_LDAP_URL="ldap://127.0.0.1:$AD_LDAP_PORT"
  MEMCACHED_SERVERS="127.0.0.1:$MEMCACHED_PORT"
  NGINX_PREFIX="$STACK_DIR/nginx"
  DOVECOT_USERS_FILE="$STACK_DIR/dovecot-users"
  DOVECOT_TLS_CERT_1="$STACK_DIR/dovecot1/tls.crt"
  DOVECOT_TLS_CERT_2="$STACK_DIR/dovecot2/tls.crt"
  DOVECOT_TEST_USER='stack@example.com'
  DOVECOT_TEST_PASSWORD='stack-password'
  [ -f "$DOVECOT_USERS_FILE" ] ||
    printf '%s:{PLAIN}%s\n' "$DOVECOT_TEST_USER" "$DOVECOT_TEST_PASSWORD" >"$DOVECOT_USERS_FILE"
  chmod 644 "$DOVECOT_USERS_FILE"
  # Written before the daemons start, so that stop/status work even after a failed start.
  print_env >"$STACK_DIR/stack.env"
  chmod 600 "$STACK_DIR/stack.env"
  start_slapd
  start_ad_slapd
  start_memcached
  local i
  for i in "${DOVECOT_INSTANCES[@]}"; do start_dovecot "$i"; done
  start_nginx
  log "ready in $((SECONDS - started)) s: $STACK_DIR"
  print_env
}

cmd_stop() {
  need_stack_dir stop
  local pids=() pid file
  for file in "$STACK_DIR/nginx/nginx.pid" "$STACK_DIR"/dovecot*/run/master.pid \
    "$STACK_DIR/memcached/memcached.pid" "$(slapd_dir)/slapd.pid" "$(ad_dir)/slapd.pid"; do
    pid="$(live_pid "$file")" && pids+=("$pid")
  done
  stop_pids "${pids[@]}"
  rm -f "$STACK_DIR/memcached/memcached.pid"
  log "stopped ${#pids[@]} process(es) of $STACK_DIR"
}

cmd_status() {
  need_stack_dir status
  local all=0 name file pid
  while read -r name file; do
    if pid="$(live_pid "$STACK_DIR/$file")"; then
      printf '%-10s running pid=%s\n' "$name" "$pid"
    else
      printf '%-10s stopped\n' "$name"
      all=3
    fi
  done <<EOF
slapd slapd/slapd.pid
ad-slapd ad-slapd/slapd.pid
memcached memcached/memcached.pid
dovecot1 dovecot1/run/master.pid
dovecot2 dovecot2/run/master.pid
nginx nginx/nginx.pid
EOF
  return "$all"
}

main() {
  local command="${1:-}"
  [ $# -gt 0 ] && shift
  case "$command" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    load) cmd_load "$@" ;;
    reset) cmd_reset "$@" ;;
    env) need_stack_dir env && print_env ;;
    *) die "unknown command \"$command\"" 'scripts/stack.sh start|stop|status|load FILE...|reset [FILE...]|env' ;;
  esac
}

main "$@"
