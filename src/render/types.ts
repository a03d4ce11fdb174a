/** Inputs and outputs of the template engine (docs/zimbra-notes.md "The template engine"). */
import type { Problem, Warning } from '../errors.js';

/** One template file as read from the template directory. */
export interface TemplateSource {
  /** File name, e.g. `nginx.conf.web.http.template` (or `….template.hbs` for Handlebars). */
  name: string;
  /** Path shown in errors (`file:line`). */
  path: string;
  text: string;
}

/** One repetition of a `!{explode domain(...)}` template: a virtual host name of a domain. */
export interface DomainExplodeItem {
  domain: string;
  /** The virtual host name (`vhn`). */
  vhn: string;
  /** The domain's client-certificate mode with inheritance; undefined when none is set anywhere. */
  clientCertMode: string | undefined;
  /**
   * The per-domain variables of docs/zimbra-notes.md "Per-domain variables" (`vhn`, `vip`,
   * `ssl.crt`, …), already formatted.
   */
  vars: Readonly<Record<string, string>>;
}

/** One repetition of a `!{explode server(svc)}` template. */
export interface ServerExplodeItem {
  server: string;
  services: readonly string[];
  /** `server_id`, `server_hostname`. */
  vars: Readonly<Record<string, string>>;
}

/** Everything a render needs besides the templates. */
export interface RenderInput {
  templates: readonly TemplateSource[];
  /** Formatted variables (after `-c` overrides). */
  vars: ReadonlyMap<string, string>;
  /** Domain items, in output order (sorted by domain, then virtual host name). */
  domains: readonly DomainExplodeItem[];
  /** Servers, sorted by name. */
  servers: readonly ServerExplodeItem[];
  /** serverSource's zimbraReverseProxyGenConfigPerVirtualHostname: domain explosion happens only when true. */
  perVirtualHostname: boolean;
  /** Data for Handlebars templates (`*.template.hbs`): rendered before the `${}` pass. */
  handlebarsContext?: Readonly<Record<string, unknown>>;
}

/** Options of the engine. */
export interface RenderOptions {
  /** Directory the main file is written to (`<workdir>/conf`). */
  confDir: string;
  /** Directory every other file is written to. */
  includesDir: string;
  /** `-p`: output prefix. */
  configPrefix: string;
  /** `-P`: template prefix. */
  templatePrefix: string;
  /** Unknown variables expand to "" with a warning instead of being an error (Zimbra's behaviour). @default false */
  lenient?: boolean;
  /** Append `#__SUCCESS__` to the main file, as ProxyConfGen does. @default false */
  marker?: boolean;
  /** Substitutions allowed on one line before it is declared a runaway recursion. @default 10000 */
  maxSubstitutionsPerLine?: number;
}

/** One output file. */
export interface RenderedFile {
  /** Absolute output path. */
  path: string;
  content: string;
  /** The template it came from. */
  template: string;
}

/** What a render returns: every file, or every problem. */
export type RenderResult =
  | { ok: true; files: RenderedFile[]; warnings: Warning[] }
  | { ok: false; problems: Problem[]; warnings: Warning[] };
