/** In-memory inputs for the render tests. */
import type {
  DomainExplodeItem,
  RenderInput,
  RenderOptions,
  ServerExplodeItem,
  TemplateSource,
} from '../../../src/render/index.js';

export const OPTIONS: RenderOptions = {
  confDir: '/opt/zimbra/conf',
  includesDir: '/opt/zimbra/conf/nginx/includes',
  configPrefix: 'nginx.conf',
  templatePrefix: 'nginx.conf',
};

/** A template named `name`, shown in errors as `tpl/<name>`. */
export function template(name: string, text: string): TemplateSource {
  return { name, path: `tpl/${name}`, text };
}

/** A domain item; `vars` default to `vhn` only. */
export function domain(
  vhn: string,
  fields: Partial<Omit<DomainExplodeItem, 'vhn'>> = {},
): DomainExplodeItem {
  return {
    domain: fields.domain ?? vhn,
    vhn,
    clientCertMode: fields.clientCertMode,
    vars: fields.vars ?? { vhn },
  };
}

/** A server item with `server_id` and `server_hostname`. */
export function server(name: string, services: string[], id = `id-${name}`): ServerExplodeItem {
  return { server: name, services, vars: { server_id: id, server_hostname: name } };
}

/** A render input holding the templates and variables given. */
export function input(
  templates: TemplateSource[],
  vars: Record<string, string> = {},
  extra: Partial<Omit<RenderInput, 'templates' | 'vars'>> = {},
): RenderInput {
  return {
    templates,
    vars: new Map(Object.entries(vars)),
    domains: extra.domains ?? [],
    servers: extra.servers ?? [],
    perVirtualHostname: extra.perVirtualHostname ?? true,
    ...(extra.handlebarsContext === undefined
      ? {}
      : { handlebarsContext: extra.handlebarsContext }),
  };
}
