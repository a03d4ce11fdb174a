import { describe, expect, it } from 'vitest';
import type { RenderInput, RenderOptions, RenderResult } from '../../../src/render/index.js';
import { renderTemplates } from '../../../src/render/index.js';
import { OPTIONS, domain, input, server, template } from './render-fixtures.js';

const WEB = 'nginx.conf.web.template';

function render(renderInput: RenderInput, options: Partial<RenderOptions> = {}) {
  return renderTemplates(renderInput, { ...OPTIONS, ...options });
}

/** The content of the only (or the named) output file; fails the test on problems. */
function contentOf(result: RenderResult, name = WEB): string {
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  const file = result.files.find((f) => f.template === name);
  if (file === undefined) throw new Error(`no output for ${name}`);
  return file.content;
}

/** `[subject, message]` of every problem; none when the render succeeded. */
function problemsOf(result: RenderResult): [string, string][] {
  return result.ok ? [] : result.problems.map((p) => [p.subject, p.message]);
}

function renderOne(text: string, vars: Record<string, string> = {}, extra = {}): string {
  return contentOf(render(input([template(WEB, text)], vars, extra)));
}

describe('renderTemplates: lines', () => {
  it('ends every line with a newline, adding the missing final one', () => {
    expect(renderOne('a\nb')).toBe('a\nb\n');
  });

  it('turns CRLF and CR line ends into LF', () => {
    expect(renderOne('a\r\nb\rc\r\n')).toBe('a\nb\nc\n');
  });

  it('keeps blank lines and whitespace exactly', () => {
    expect(renderOne('  a  \n\n\t b\n')).toBe('  a  \n\n\t b\n');
  });

  it('writes an empty file for an empty template', () => {
    expect(renderOne('')).toBe('');
  });

  it('substitutes variables in comment lines too', () => {
    expect(renderOne('# listens on ${port}\nlisten ${port};\n', { port: '8080' })).toBe(
      '# listens on 8080\nlisten 8080;\n',
    );
  });

  it('expands variables inside values (rescan)', () => {
    const vars = { addrs: 'listen ${ip}:${port};', ip: '10.0.0.1', port: '443' };
    expect(renderOne('  ${addrs}\n', vars)).toBe('  listen 10.0.0.1:443;\n');
  });

  it('puts an enabler\'s "#" where the token was, after the indentation', () => {
    const vars = { on: '', off: '#', inc: '/inc' };
    expect(renderOne('    ${on} include ${inc}/a;\n    ${off} include ${inc}/b;\n', vars)).toBe(
      '     include /inc/a;\n    # include /inc/b;\n',
    );
  });

  it('stacks enablers into several "#"', () => {
    expect(renderOne('${a}${b}include x;\n', { a: '#', b: '#' })).toBe('##include x;\n');
  });

  it('leaves a backslash-escaped token and nginx variables alone', () => {
    expect(renderOne('# $\\{x\\} and $host ${y}\n', { x: 'no', y: 'yes' })).toBe(
      '# $\\{x\\} and $host yes\n',
    );
  });

  it('inserts multi-line values verbatim', () => {
    const vars = { servers: 'server a;\n        server b;\n' };
    expect(renderOne('    ${servers}\n}\n', vars)).toBe('    server a;\n        server b;\n\n}\n');
  });
});

describe('renderTemplates: headers', () => {
  const items = [
    domain('a.example.com', { clientCertMode: 'on' }),
    domain('b.example.com', { clientCertMode: 'off' }),
    domain('', { domain: 'c.example.com', clientCertMode: 'optional' }),
    domain('d.example.com', { clientCertMode: undefined }),
  ];

  it('never writes the header line', () => {
    expect(renderOne('!{explode domain()}\nx\n', {}, { domains: [domain('a')] })).toBe('x\n\n');
  });

  it('repeats a domain template per item, with comment lines in the first block only', () => {
    const text = '!{explode domain(vhn)}\n# server for ${vhn}\nserver_name ${vhn};\n  # kept\n';
    expect(
      renderOne(text, {}, { domains: [domain('a.example.com'), domain('b.example.com')] }),
    ).toBe(
      '# server for a.example.com\nserver_name a.example.com;\n  # kept\n\n' +
        'server_name b.example.com;\n  # kept\n\n',
    );
  });

  it('writes the comment lines with the first item that passes the filter', () => {
    const text = '!{explode domain(vhn)}\n# first: ${vhn}\n${vhn}\n';
    expect(renderOne(text, {}, { domains: [domain(''), domain('b'), domain('c')] })).toBe(
      '# first: b\nb\n\nc\n\n',
    );
  });

  it('keeps only items with a virtual host name under the vhn filter', () => {
    const result = renderOne('!{explode domain(vhn)}\n${vhn}\n', {}, { domains: items });
    expect(result).toBe('a.example.com\n\nb.example.com\n\nd.example.com\n\n');
  });

  it('keeps only items with a client-certificate mode other than off under the sso filter', () => {
    const result = renderOne('!{explode domain(sso)}\n[${vhn}]\n', {}, { domains: items });
    expect(result).toBe('[a.example.com]\n\n[]\n\n');
  });

  it('applies every filter argument and lets unknown ones pass', () => {
    const result = renderOne(
      '!{explode domain(vhn, sso, shiny)}\n${vhn}\n',
      {},
      {
        domains: items,
      },
    );
    expect(result).toBe('a.example.com\n\n');
  });

  it('repeats the legacy header per item without filtering', () => {
    const result = renderOne('!{explode vhn_vip_ssl}\n[${vhn}]\n', {}, { domains: items });
    expect(result).toBe('[a.example.com]\n\n[b.example.com]\n\n[]\n\n[d.example.com]\n\n');
  });

  it('writes an empty file when no item passes', () => {
    expect(renderOne('!{explode domain(vhn)}\nx\n', {}, { domains: [domain('')] })).toBe('');
  });

  it('writes an empty domain file when per-virtual-hostname generation is off', () => {
    const extra = { domains: [domain('a')], perVirtualHostname: false };
    expect(renderOne('!{explode domain(vhn)}\n${vhn}\n', {}, extra)).toBe('');
    expect(renderOne('!{explode vhn_vip_ssl}\n${vhn}\n', {}, extra)).toBe('');
  });

  it('lays item variables over the global ones for that block only', () => {
    const vars = { 'ssl.crt': '/default.crt', vhn: 'global' };
    const domains = [
      domain('a', { vars: { vhn: 'a', 'ssl.crt': '/a.crt' } }),
      domain('b', { vars: { vhn: 'b' } }),
    ];
    expect(renderOne('!{explode domain(vhn)}\n${vhn} ${ssl.crt}\n', vars, { domains })).toBe(
      'a /a.crt\n\nb /default.crt\n\n',
    );
  });

  it('does not leak item variables into the templates rendered after it', () => {
    const result = render(
      input(
        [
          template('nginx.conf.web.https.template', '!{explode domain(vhn)}\n${vhn}\n'),
          template('nginx.conf.web.template', '${vhn}\n'),
        ],
        { vhn: 'global' },
        { domains: [domain('a')] },
      ),
    );
    expect(contentOf(result, 'nginx.conf.web.template')).toBe('global\n');
  });

  it('repeats a server template per server running the service, without comments or separators', () => {
    const text =
      '!{explode server(docs)}\n# docs upstream\nupstream docs-${server_id} {\n  server ${server_hostname}:9980;\n}\n';
    const servers = [
      server('m1', ['mailbox', 'docs']),
      server('m2', ['mailbox']),
      server('m3', ['docs'], 'id3'),
    ];
    expect(renderOne(text, {}, { servers })).toBe(
      'upstream docs-id-m1 {\n  server m1:9980;\n}\nupstream docs-id3 {\n  server m3:9980;\n}\n',
    );
  });

  it('matches the service exactly', () => {
    const servers = [server('m1', ['docsx', 'Docs'])];
    expect(renderOne('!{explode server(docs)}\n${server_id}\n', {}, { servers })).toBe('');
  });

  it('explodes servers whatever the per-virtual-hostname flag says', () => {
    const extra = { servers: [server('m1', ['docs'])], perVirtualHostname: false };
    expect(renderOne('!{explode server(docs)}\n${server_hostname}\n', {}, extra)).toBe('m1\n');
  });

  it('reports an illegal header with the template and line 1', () => {
    const result = render(input([template(WEB, '!{explode everything}\nx\n')]));
    expect(result).toMatchObject({
      ok: false,
      problems: [
        {
          subject: WEB,
          entry: `tpl/${WEB}:1`,
          message: 'Illegal custom header command: explode everything',
        },
      ],
    });
  });

  it('reports a server header without a service', () => {
    const result = render(input([template(WEB, '!{explode server()}\n')]));
    expect(result).toMatchObject({
      ok: false,
      problems: [
        { message: 'Missing service parameter in custom header command: explode server()' },
      ],
    });
  });
});

describe('renderTemplates: problems', () => {
  it('lists every unknown variable of every template with file:line', () => {
    const result = render(
      input(
        [
          template(WEB, 'ok ${known}\n${nope} ${also.nope}\n'),
          template('nginx.conf.mail.template', '\n\n${nope}\n'),
        ],
        { known: 'k' },
      ),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => [p.entry, p.message])).toEqual([
      [`tpl/${WEB}:2`, '${also.nope} is not a known variable'],
      [`tpl/${WEB}:2`, '${nope} is not a known variable'],
      ['tpl/nginx.conf.mail.template:3', '${nope} is not a known variable'],
    ]);
    expect(result.problems[0]!.hint).toContain('--lenient');
  });

  it('reports an unknown variable of an explode template once per line, not once per item', () => {
    const result = render(
      input(
        [template(WEB, '!{explode domain(vhn)}\n${vhn} ${typo}\n')],
        {},
        {
          domains: [domain('a'), domain('b'), domain('c')],
        },
      ),
    );
    expect(result).toMatchObject({
      ok: false,
      problems: [{ entry: `tpl/${WEB}:2`, message: '${typo} is not a known variable' }],
    });
  });

  it('expands unknown variables to "" with one warning per name and place when lenient', () => {
    const result = render(
      input(
        [template(WEB, '!{explode domain(vhn)}\n[${x}${vhn}${x}]\n')],
        {},
        {
          domains: [domain('a'), domain('b')],
        },
      ),
      { lenient: true },
    );
    expect(contentOf(result)).toBe('[a]\n\n[b]\n\n');
    expect(result.warnings).toEqual([
      {
        code: 'W_TEMPLATE_VARIABLE_UNKNOWN',
        message: `\${x} is not a known variable; expanded to "" (tpl/${WEB}:2)`,
      },
    ]);
  });

  it('stops a value that contains its own token and names the variable and line', () => {
    const result = render(input([template(WEB, 'a\nb ${loop}\n')], { loop: 'x${loop}' }));
    expect(result).toMatchObject({
      ok: false,
      problems: [
        {
          subject: '${loop}',
          entry: `tpl/${WEB}:2`,
          message: 'variable expansion does not terminate: ${loop} expands to itself (loop → loop)',
        },
      ],
    });
  });

  it('honours a lower substitution limit', () => {
    const vars = { a: '${b}', b: '${c}', c: 'end' };
    expect(render(input([template(WEB, '${a}')], vars), { maxSubstitutionsPerLine: 3 }).ok).toBe(
      true,
    );
    expect(render(input([template(WEB, '${a}')], vars), { maxSubstitutionsPerLine: 2 }).ok).toBe(
      false,
    );
  });

  it('rejects a template outside the template prefix', () => {
    const result = render(input([template('other.web.template', 'x')]));
    expect(result).toMatchObject({
      ok: false,
      problems: [{ subject: 'other.web.template', entry: 'tpl/other.web.template' }],
    });
  });

  it('rejects two templates that write the same file', () => {
    const result = render(input([template(WEB, 'x'), template(`${WEB}.hbs`, 'y')]));
    expect(problemsOf(result)).toEqual([
      [
        `${WEB}.hbs`,
        `writes ${OPTIONS.includesDir}/nginx.conf.web, as nginx.conf.web.template does`,
      ],
    ]);
  });

  it('returns no file at all when any template has a problem', () => {
    const result = render(
      input([template(WEB, 'fine\n'), template('nginx.conf.mail.template', '${x}')]),
    );
    expect(result).not.toHaveProperty('files');
  });
});

describe('renderTemplates: output', () => {
  it('names files by the -p and -P prefixes', () => {
    const result = render(
      input([template('t.template', 'main'), template('t.web.template', 'web')]),
      {
        templatePrefix: 't',
        configPrefix: 'proxy.conf',
        confDir: '/w/conf',
        includesDir: '/w/inc',
      },
    );
    expect(result).toEqual({
      ok: true,
      warnings: [],
      files: [
        { path: '/w/conf/proxy.conf', content: 'main\n', template: 't.template' },
        { path: '/w/inc/proxy.conf.web', content: 'web\n', template: 't.web.template' },
      ],
    });
  });

  it('appends the success marker to the main file only, and only when asked', () => {
    const templates = [template('nginx.conf.template', 'main'), template(WEB, 'web')];
    const plain = render(input(templates));
    expect(contentOf(plain, 'nginx.conf.template')).toBe('main\n');
    const marked = render(input(templates), { marker: true });
    expect(contentOf(marked, 'nginx.conf.template')).toBe('main\n\n#__SUCCESS__\n');
    expect(contentOf(marked, WEB)).toBe('web\n');
  });
});

describe('renderTemplates: Handlebars', () => {
  const HBS = `${WEB}.hbs`;

  it('renders a .hbs template before the ${} pass, without HTML escaping', () => {
    const result = render(
      input(
        [
          template(
            HBS,
            '{{#each upstreams}}\nserver {{this}} weight=1; # <&>\n{{/each}}\nport ${port} {{vars.[port]}}\n',
          ),
        ],
        { port: '80' },
        { handlebarsContext: { upstreams: ['a:1', 'b:2'] } },
      ),
    );
    expect(contentOf(result, HBS)).toBe(
      'server a:1 weight=1; # <&>\nserver b:2 weight=1; # <&>\nport 80 80\n',
    );
  });

  it('reads the header from the Handlebars output', () => {
    const text = '{{#if explode}}!{explode server(docs)}{{/if}}\n${server_id}\n';
    const extra = { servers: [server('m1', ['docs'])], handlebarsContext: { explode: true } };
    expect(contentOf(render(input([template(HBS, text)], {}, extra)), HBS)).toBe('id-m1\n');
  });

  it('offers eq, ne, and, or, not and join helpers', () => {
    const text = [
      '{{#if (eq mode "both")}}eq{{/if}}',
      '{{#if (ne mode "http")}}ne{{/if}}',
      '{{#if (and on mode)}}and{{/if}}',
      '{{#if (or off on)}}or{{/if}}',
      '{{#if (not off)}}not{{/if}}',
      '{{#if (and on empty)}}{{else}}empty list is false{{/if}}',
      'server_name {{join names}};',
      '{{join names ", "}}',
    ].join('\n');
    const extra = {
      handlebarsContext: { mode: 'both', on: true, off: false, empty: [], names: ['a', 'b'] },
    };
    expect(contentOf(render(input([template(HBS, text)], {}, extra)), HBS)).toBe(
      'eq\nne\nand\nor\nnot\nempty list is false\nserver_name a b;\na, b\n',
    );
  });

  it('leaves a missing Handlebars value empty', () => {
    expect(contentOf(render(input([template(HBS, '[{{nothing.here}}]')])), HBS)).toBe('[]\n');
  });

  it('reports a Handlebars syntax error naming the template', () => {
    const result = render(input([template(HBS, '{{#if x}}\nopen\n')]));
    expect(result).toMatchObject({ ok: false, problems: [{ subject: HBS, entry: `tpl/${HBS}` }] });
    expect(problemsOf(result)[0]?.[1]).toMatch(/^Handlebars: Parse error on line 3/);
  });

  it('reports a Handlebars runtime error naming the template', () => {
    const result = render(input([template(HBS, '{{nosuchhelper 1}}')]));
    expect(problemsOf(result)).toEqual([[HBS, 'Handlebars: Missing helper: "nosuchhelper"']]);
  });
});

describe('renderTemplates: scale', () => {
  it('renders 10 000 domains through five explode templates', () => {
    const body = [
      '!{explode domain(vhn)}',
      '# per-vhn server for ${vhn}',
      'server {',
      '    server_name ${vhn};',
      '    ${core.ipboth.enabled}listen ${vip}${port} ssl ipv6only=off;',
      '    ${core.ipv4only.enabled}listen ${vip}${port} ssl;',
      '    ssl_certificate ${ssl.crt};',
      '    ssl_certificate_key ${ssl.key};',
      '    ${web.add.headers.vhost}',
      '    location / {',
      '        proxy_pass ${upstream};',
      '        proxy_set_header Host $http_host;',
      '    }',
      '}',
    ].join('\n');
    const templates = ['a', 'b', 'c', 'd', 'e'].map((n) =>
      template(`nginx.conf.${n}.template`, body),
    );
    const domains = Array.from({ length: 10_000 }, (_, i) => {
      const vhn = `mail${i}.example${i % 97}.com`;
      return domain(vhn, {
        vars: {
          vhn,
          vip: '',
          'ssl.crt': `/opt/zimbra/conf/domaincerts/${vhn}.crt`,
          'ssl.key': `/opt/zimbra/conf/domaincerts/${vhn}.key`,
          'web.add.headers.vhost': 'add_header X-A a;\n    add_header X-B b;',
        },
      });
    });
    const vars = {
      'core.ipboth.enabled': '',
      'core.ipv4only.enabled': '#',
      port: '443',
      upstream: 'https://zimbra_ssl',
    };
    // Speed is measured by npm run bench:gen; here, that every domain gets its block in every file.
    const result = render(input(templates, vars, { domains }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    for (const file of result.files) {
      expect(file.content.match(/^server \{$/gm)?.length ?? 0).toBe(10_000);
    }
  });
});
