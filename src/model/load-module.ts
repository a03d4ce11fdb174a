/** Finding the shared objects an nginx configuration loads (`load_module`) and the files it includes. Pure. */

/** One simple directive of an nginx configuration: its name and arguments, quotes removed. */
export interface NginxDirective {
  name: string;
  args: string[];
}

/**
 * The directives of an nginx configuration text, in order, at every block depth. Tokenises as
 * nginx does: `#` starts a comment outside quotes, `"…"` and `'…'` hold `;`, `{`, `#` and spaces,
 * a backslash escapes the next character.
 */
export function nginxDirectives(text: string): NginxDirective[] {
  const directives: NginxDirective[] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  // Runs of plain characters are sliced, not appended one by one: the server_name lines of a
  // large directory are megabytes, and a string built a character at a time is garbage.
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '#' && !inWord) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '"' || c === "'") {
      inWord = true;
      for (i++; i < text.length && text[i] !== c; i++) {
        const run = plainRunEnd(text, i, c);
        if (run > i) {
          word += text.slice(i, run);
          i = run - 1;
          continue;
        }
        if (text[i] === '\\' && i + 1 < text.length) i++;
        word += text[i] ?? '';
      }
    } else if (c === ';' || c === '{' || c === '}') {
      endWord();
      const [name, ...args] = words;
      if (name !== undefined) directives.push({ name, args });
      words = [];
    } else if (isSpace(c)) {
      endWord();
    } else {
      if (c === '\\' && i + 1 < text.length) i++;
      word += text[i] ?? '';
      inWord = true;
      const run = plainRunEnd(text, i + 1);
      word += text.slice(i + 1, run);
      i = run - 1;
    }
  }
  return directives;
}

/** Whitespace as `/\s/` sees it; printable ASCII (nearly every character) without the regex. */
function isSpace(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code > 32 && code < 127) return false;
  return /\s/.test(c);
}

/**
 * Where the run of characters from `from` that end nothing stops: inside quotes (`quote`) the
 * closing quote and a backslash; outside, whitespace, quotes, `#`, `;`, braces and a backslash.
 */
function plainRunEnd(text: string, from: number, quote?: string): number {
  let i = from;
  if (quote !== undefined) {
    while (i < text.length && text[i] !== quote && text[i] !== '\\') i++;
    return i;
  }
  for (; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === ';' || c === '{' || c === '}' || c === '"' || c === "'" || c === '\\' || isSpace(c))
      break;
  }
  return i;
}

/** The paths of the `load_module` directives in `text`. */
export function findLoadModules(text: string): string[] {
  // The directive's name must stand in the text: a file without it (all but one of the 20 000
  // files of a large directory) needs no parse.
  if (!text.includes('load_module')) return [];
  return nginxDirectives(text)
    .filter((directive) => directive.name === 'load_module')
    .map((directive) => directive.args[0] ?? '');
}

/** The file names or patterns of the `include` directives in `text`. */
export function findIncludes(text: string): string[] {
  return nginxDirectives(text)
    .filter((directive) => directive.name === 'include')
    .map((directive) => directive.args[0] ?? '');
}

/** What to do about a module nginx may not load (the rule is in src/reload/module-trust.ts). */
export const MODULE_RULE_HINT =
  "nginx runs a module's code as the user that reads the configuration (root for --apply and --watch): put the module in nginx's module directory (/usr/lib/nginx/modules on Debian) or another root-owned file in directories only root can write, and point localconfig zmproxy_nginx_mail_module (or zmproxy_nginx_stream_module) at it; Debian's packages install them there: apt-get install libnginx-mod-mail libnginx-mod-stream; see docs/security.md";
