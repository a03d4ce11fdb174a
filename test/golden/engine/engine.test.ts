/**
 * Golden tests of the template engine: small templates of our own (./templates) that exercise every
 * rule of docs/zimbra-notes.md "The template engine", rendered in three scenarios and compared
 * with reviewed files under ./expected.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type {
  DomainExplodeItem,
  RenderInput,
  RenderOptions,
  ServerExplodeItem,
  TemplateSource,
} from '../../../src/render/index.js';
import { renderTemplates } from '../../../src/render/index.js';

const TEMPLATE_DIR = new URL('./templates/', import.meta.url);

function loadTemplates(names?: readonly string[]): TemplateSource[] {
  return (names ?? readdirSync(TEMPLATE_DIR).sort()).map((name) => ({
    name,
    path: `templates/${name}`,
    text: readFileSync(new URL(name, TEMPLATE_DIR), 'utf8'),
  }));
}

const VARS: Record<string, string> = {
  'core.includes': '/w/conf/nginx/includes',
  'core.cprefix': 'demo.conf',
  'main.workers': '4',
  'lookup.available': '',
  'mail.enabled': '',
  'web.enabled': '#',
  'web.http.port': '80',
  'web.https.port': '443',
  'web.strict.servername': '#',
  proto: 'https',
  'web.upstream.:servers': 'server    10.0.0.1:8080;\n        server    10.0.0.2:8080;\n',
  'listen.:addresses':
    '${web.strict.servername}    listen 10.0.0.1:${web.https.port} default_server;\n' +
    '    ${web.strict.servername}    listen [2001:db8::1]:${web.https.port} default_server;',
  'web.add.headers.default':
    'add_header X-Frame-Options SAMEORIGIN;\n    add_header X-Content-Type-Options nosniff;',
  'ssl.clientcertmode.default': 'off',
};

function vhost(
  domain: string,
  vhn: string,
  clientCertMode: string | undefined,
  extra: Record<string, string> = {},
): DomainExplodeItem {
  return {
    domain,
    vhn,
    clientCertMode,
    vars: {
      vhn,
      vip: '',
      'ssl.crt': `/opt/zimbra/conf/domaincerts/${domain}.crt`,
      'ssl.clientcertmode': clientCertMode ?? VARS['ssl.clientcertmode.default']!,
      'web.add.headers.vhost': '',
      ...extra,
    },
  };
}

const DOMAINS: DomainExplodeItem[] = [
  vhost('alpha.example.com', 'mail.alpha.example.com', 'on', {
    vip: '192.0.2.10:',
    'web.add.headers.vhost': 'add_header X-Alpha one;\n    add_header X-Beta two;',
  }),
  vhost('alpha.example.com', 'www.alpha.example.com', 'on', { vip: '192.0.2.10:' }),
  vhost('beta.example.com', 'mail.beta.example.com', 'off'),
  vhost('delta.example.com', '', 'optional'),
  vhost('gamma.example.com', 'mail.gamma.example.com', undefined, { vip: '[2001:db8::5]:' }),
];

function server(name: string, services: string[]): ServerExplodeItem {
  return { server: name, services, vars: { server_id: `id-${name}`, server_hostname: name } };
}

const SERVERS: ServerExplodeItem[] = [
  server('docsx.example.com', ['docsx']),
  server('m1.example.com', ['mailbox', 'docs']),
  server('m2.example.com', ['mailbox']),
  server('m3.example.com', ['proxy', 'docs']),
];

const OPTIONS: RenderOptions = {
  confDir: '/w/conf',
  includesDir: '/w/conf/nginx/includes',
  configPrefix: 'demo.conf',
  templatePrefix: 'demo.conf',
};

function renderInput(templates: TemplateSource[], perVirtualHostname: boolean): RenderInput {
  return {
    templates,
    vars: new Map(Object.entries(VARS)),
    domains: DOMAINS,
    servers: SERVERS,
    perVirtualHostname,
    handlebarsContext: {
      backends: [
        { host: '10.0.0.1', port: 8080 },
        { host: '10.0.0.2', port: 8080, backup: true },
      ],
      mode: 'both',
      names: ['mail.example.com', 'www.example.com'],
      raw: 'a < b && c > "d"',
    },
  };
}

/** Renders a scenario; the output files by path relative to `/w/`. */
function renderScenario(
  templates: TemplateSource[],
  perVirtualHostname: boolean,
  options: Partial<RenderOptions>,
): Map<string, string> {
  const result = renderTemplates(renderInput(templates, perVirtualHostname), {
    ...OPTIONS,
    ...options,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  if (result.warnings.length > 0) throw new Error(JSON.stringify(result.warnings, null, 2));
  return new Map(result.files.map((f) => [f.path.slice('/w/'.length), f.content]));
}

const INCLUDES = [
  'crlf',
  'empty',
  'legacy',
  'list',
  'nofinal',
  'none',
  'sso',
  'upstreams',
  'vhosts',
].map((name) => `conf/nginx/includes/demo.conf.${name}`);

describe('engine golden files', () => {
  it('reads a template with CRLF and CR line ends (guards against a checkout that normalises them)', () => {
    const [crlf] = loadTemplates(['demo.conf.crlf.template']);
    expect(crlf!.text).toContain('\r\n');
    expect(crlf!.text).toMatch(/\r[^\n]/);
  });

  it.each([
    {
      scenario: 'per-vhn-on',
      what: 'every template with per-virtual-hostname generation on and the marker',
      templates: loadTemplates(),
      perVirtualHostname: true,
      options: { marker: true },
      files: ['conf/demo.conf', ...INCLUDES],
    },
    {
      scenario: 'per-vhn-off',
      what: 'domain templates empty with per-virtual-hostname generation off',
      templates: loadTemplates(),
      perVirtualHostname: false,
      options: {},
      files: ['conf/demo.conf', ...INCLUDES],
    },
    {
      scenario: 'prefixes',
      what: 'templates read by the -P prefix into files named by the -p prefix',
      templates: loadTemplates(['demo.conf.template', 'demo.conf.vhosts.template']),
      perVirtualHostname: true,
      options: { configPrefix: 'proxy.conf', includesDir: '/w/inc' },
      files: ['conf/proxy.conf', 'inc/proxy.conf.vhosts'],
    },
  ])('renders $what ($scenario)', async ({ scenario, templates, perVirtualHostname, options, files }) => {
    const output = renderScenario(templates, perVirtualHostname, options);
    expect([...output.keys()].sort()).toEqual([...files].sort());
    for (const [file, content] of output) {
      await expect(content).toMatchFileSnapshot(`./expected/${scenario}/${file}`);
    }
  });
});
