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
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '#' && !inWord) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      inWord = true;
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        word += text[i] ?? '';
      }
    } else if (c === ';' || c === '{' || c === '}') {
      endWord();
      const [name, ...args] = words;
      if (name !== undefined) directives.push({ name, args });
      words = [];
    } else if (/\s/.test(c)) {
      endWord();
    } else {
      if (c === '\\' && i + 1 < text.length) i++;
      word += text[i] ?? '';
      inWord = true;
    }
  }
  return directives;
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
  "nginx runs a module's code as the user that reads the configuration (root for --apply and --watch): put the module in nginx's module directory (/usr/lib/nginx/modules on Debian) or another root-owned file in directories only root can write, and point localconfig zmproxy_nginx_mail_module at it; see docs/security.md";
