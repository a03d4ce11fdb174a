/**
 * zmproxyconfig's command line, read as Perl's Getopt::Std reads `a:defhH:i:mop:rstwx:cCn:uU`
 * (docs/zimbra-notes.md "zmproxyconfig"): single-letter switches, bundling (`-emw`), an argument
 * either attached (`-Hhost`) or in the next word, `--` ends the options, the first non-option word
 * ends them too, and an unknown letter is an error.
 */

/** The option letters zmproxyconfig knows; a letter followed by `:` takes an argument. */
export const PROXY_CONFIG_OPTIONS = 'a:defhH:i:mop:rstwx:cCn:uU';

/** zmproxyconfig's flags (docs/zimbra-notes.md "zmproxyconfig"), by meaning. */
export interface ProxyConfigFlags {
  /** -h */
  help: boolean;
  /** -H host: the server to modify. */
  host: string | undefined;
  /** -e */
  enable: boolean;
  /** -d */
  disable: boolean;
  /** -m: mail (IMAP/POP3) proxy. */
  mail: boolean;
  /** -w: web proxy. */
  web: boolean;
  /** -a w1:w2:w3:w4 */
  webPorts: string | undefined;
  /** -i i1:i2:i3:i4 */
  imapPorts: string | undefined;
  /** -p p1:p2:p3:p4 */
  popPorts: string | undefined;
  /** -n n1:n2 */
  adminPorts: string | undefined;
  /** -c: disable the admin console proxy. */
  adminOff: boolean;
  /** -C: enable the admin console proxy. */
  adminOn: boolean;
  /** -x mode: proxy mail mode (enable) or store mail mode (disable). */
  mode: string | undefined;
  /** -u: SSL to upstream FALSE. */
  sslUpstreamOff: boolean;
  /** -U: SSL to upstream TRUE. */
  sslUpstreamOn: boolean;
  /** -s: on disable, cleartext login FALSE. */
  cleartextOff: boolean;
  /** -t: on disable, lookup target FALSE. */
  lookupTargetOff: boolean;
  /** -f: full reset of the global lookup settings. */
  fullReset: boolean;
  /** -o: override the "store enabled" check. */
  override: boolean;
  /** -r: remote host. */
  remote: boolean;
  /** Words left after the options. */
  positional: string[];
}

/** The flags, or the unknown option letters that make Getopt::Std fail. */
export type ParsedFlags = { ok: true; flags: ProxyConfigFlags } | { ok: false; message: string };

/** Parses argv (without the program name and without our `--long` options). */
export function parseProxyConfigFlags(argv: readonly string[]): ParsedFlags {
  const takesArgument = new Set<string>();
  const known = new Set<string>();
  for (let i = 0; i < PROXY_CONFIG_OPTIONS.length; i++) {
    const letter = PROXY_CONFIG_OPTIONS[i] as string;
    if (letter === ':') continue;
    known.add(letter);
    if (PROXY_CONFIG_OPTIONS[i + 1] === ':') takesArgument.add(letter);
  }
  const values = new Map<string, string | true>();
  const unknown: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    for (let j = 1; j < word.length; j++) {
      const letter = word[j] as string;
      if (!known.has(letter)) {
        unknown.push(letter);
        continue;
      }
      if (takesArgument.has(letter)) {
        const attached = word.slice(j + 1);
        if (attached !== '') values.set(letter, attached);
        else if (i + 1 < argv.length) values.set(letter, argv[++i] as string);
        else unknown.push(`${letter} (needs an argument)`);
        break;
      }
      values.set(letter, true);
    }
  }
  if (unknown.length > 0) {
    return { ok: false, message: unknown.map((letter) => `Unknown option: ${letter}`).join('\n') };
  }
  const text = (letter: string): string | undefined => {
    const value = values.get(letter);
    return typeof value === 'string' ? value : undefined;
  };
  const on = (letter: string): boolean => values.has(letter);
  return {
    ok: true,
    flags: {
      help: on('h'),
      host: text('H'),
      enable: on('e'),
      disable: on('d'),
      mail: on('m'),
      web: on('w'),
      webPorts: text('a'),
      imapPorts: text('i'),
      popPorts: text('p'),
      adminPorts: text('n'),
      adminOff: on('c'),
      adminOn: on('C'),
      mode: text('x'),
      sslUpstreamOff: on('u'),
      sslUpstreamOn: on('U'),
      cleartextOff: on('s'),
      lookupTargetOff: on('t'),
      fullReset: on('f'),
      override: on('o'),
      remote: on('r'),
      positional: argv.slice(i),
    },
  };
}

/**
 * The validation of docs/zimbra-notes.md "zmproxyconfig" that needs only the flags (items 2–13),
 * in Zimbra's order: the first failure's message, or undefined. Item 1 (must run as the zimbra
 * user) is dropped: zmproxy writes through the directory it is given, not as a local user. Items
 * 14–17 need the directory and are checked by planProxyConfig.
 */
export function checkProxyConfigFlags(flags: ProxyConfigFlags): string | undefined {
  const enableOrDisable = flags.enable || flags.disable;
  const mailOrWeb = flags.mail || flags.web;
  if (flags.help) return '';
  if (flags.host === undefined || flags.host === '') return 'Error: -H <host> is required.';
  if (flags.enable && flags.disable) return 'Error: -d and -e cannot be given together.';
  if (!flags.fullReset && !enableOrDisable) {
    return 'Error: give -e to enable or -d to disable the proxy (or -f for a full reset).';
  }
  if (!mailOrWeb && (!flags.fullReset || enableOrDisable)) {
    return 'Error: give -m (mail proxy) and/or -w (web proxy).';
  }
  const portFlags = [flags.imapPorts, flags.popPorts, flags.webPorts].some((v) => v !== undefined);
  if (portFlags && !enableOrDisable) return 'Error: -a, -i and -p need -e or -d.';
  if ((flags.imapPorts !== undefined || flags.popPorts !== undefined) && !flags.mail) {
    return 'Error: -i and -p configure the mail proxy and need -m.';
  }
  if (flags.webPorts !== undefined && !flags.web) {
    return 'Error: -a configures the web proxy and needs -w.';
  }
  if (flags.mode !== undefined && enableOrDisable && !flags.web) {
    return 'Note that -x requires -w';
  }
  if (flags.lookupTargetOff && !flags.disable) return 'Error: -t is only valid with -d.';
  if ((flags.adminOff || flags.adminOn) && !flags.web) {
    return 'Error: web proxy configure should be specified (-w) before admin console proxy is configured.';
  }
  if (flags.adminPorts !== undefined && !flags.adminOff && !flags.adminOn) {
    return 'Error: admin console proxy ports should be configured when admin console proxy is configured (-C/-c).';
  }
  if (flags.disable && flags.web && flags.adminOn) {
    return "Error: when disable web proxy, you can't enable admin console proxy. Leave -C out (the admin console proxy is disabled with the web proxy).";
  }
  if ((flags.sslUpstreamOff || flags.sslUpstreamOn) && !flags.enable) {
    return 'Error: it\'s meaningful to specify "SSL to upstream" configure only when enable proxy (-e).';
  }
  if (flags.sslUpstreamOff && flags.sslUpstreamOn) return "Error: -u and -U can't be set together.";
  return undefined;
}
