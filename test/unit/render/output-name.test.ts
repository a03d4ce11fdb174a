import { describe, expect, it } from 'vitest';
import { computeOutputTarget } from '../../../src/render/index.js';
import { OPTIONS } from './render-fixtures.js';

describe('computeOutputTarget', () => {
  it('writes the main template to the conf dir under the config prefix', () => {
    expect(computeOutputTarget('nginx.conf.template', OPTIONS)).toEqual({
      ok: true,
      path: '/opt/zimbra/conf/nginx.conf',
      main: true,
      handlebars: false,
    });
  });

  it('writes every other template to the includes dir as <prefix>.<name>', () => {
    expect(computeOutputTarget('nginx.conf.web.https.default.template', OPTIONS)).toEqual({
      ok: true,
      path: '/opt/zimbra/conf/nginx/includes/nginx.conf.web.https.default',
      main: false,
      handlebars: false,
    });
  });

  it('names a Handlebars template as if .hbs were absent', () => {
    expect(computeOutputTarget('nginx.conf.mail.template.hbs', OPTIONS)).toEqual({
      ok: true,
      path: '/opt/zimbra/conf/nginx/includes/nginx.conf.mail',
      main: false,
      handlebars: true,
    });
  });

  it('reads templates with the -P prefix and writes files with the -p prefix', () => {
    const options = { ...OPTIONS, templatePrefix: 'tpl', configPrefix: 'proxy.conf' };
    expect(computeOutputTarget('tpl.template', options)).toMatchObject({
      path: '/opt/zimbra/conf/proxy.conf',
      main: true,
    });
    expect(computeOutputTarget('tpl.web.template', options)).toMatchObject({
      path: '/opt/zimbra/conf/nginx/includes/proxy.conf.web',
      main: false,
    });
  });

  it('ignores a trailing slash on the directories', () => {
    const options = { ...OPTIONS, confDir: '/w/conf/', includesDir: '/w/inc/' };
    expect(computeOutputTarget('nginx.conf.web.template', options)).toMatchObject({
      path: '/w/inc/nginx.conf.web',
    });
  });

  it.each(['other.web.template', 'nginx.confweb.template', 'nginx.conf..template'])(
    'rejects %s, which does not start with the template prefix',
    (name) => {
      expect(computeOutputTarget(name, OPTIONS)).toEqual({
        ok: false,
        message: 'does not start with the template prefix "nginx.conf." (set it with -P)',
      });
    },
  );

  it('rejects a file that is not a template', () => {
    expect(computeOutputTarget('nginx.conf.web.conf', OPTIONS)).toMatchObject({ ok: false });
  });
});
