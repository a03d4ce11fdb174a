import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import {
  context,
  globalConfig,
  idFor,
  mailboxServer,
  server,
  snapshot,
} from '../../helpers/builders.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import type { VarContextHandle } from '../../../src/vars/context.js';
import { computeServerItems, DOCS_VARIABLES, javaUrlSafeBase64 } from '../../../src/vars/docs.js';

const ID = 'f0b3a2c1-1234-4abc-9def-0123456789ab';
const B64 = Buffer.from(ID).toString('base64url');

function setup(servers: DirectoryEntry[], gc: Attrs = {}) {
  return context({ snapshot: snapshot({ globalConfig: globalConfig(gc), servers }) });
}

function value(handle: VarContextHandle, name: string): string {
  const definition = DOCS_VARIABLES.find((v) => v.name === name);
  if (definition === undefined) throw new Error(`no variable ${name}`);
  return definition.compute(handle.ctx);
}

describe('onlyoffice upstreams', () => {
  it('encodes ids as Java URL-safe Base64 with padding', () => {
    expect(javaUrlSafeBase64(ID)).toHaveLength(48);
    expect(javaUrlSafeBase64(ID)).toBe(B64);
    expect(javaUrlSafeBase64('a')).toBe('YQ==');
    expect(javaUrlSafeBase64('??>')).toBe('Pz8-');
  });

  it('is empty when no mail client server has a document server', () => {
    const handle = setup([mailboxServer('mb1')]);
    expect(value(handle, 'web.upstream.onlyoffice.docservice')).toBe('');
    expect(value(handle, 'web.upstream.onlyoffice.spellchecker')).toBe('');
  });

  it('writes one block per mail client server that runs onlyoffice itself', () => {
    const handle = setup([
      mailboxServer('mb1', {
        zimbraId: ID,
        zimbraServiceEnabled: ['mailbox', 'service', 'onlyoffice'],
      }),
    ]);
    expect(value(handle, 'web.upstream.onlyoffice.docservice')).toBe(
      `upstream docservice_${B64} {\n\tserver\t mb1:7084 fail_timeout=0s max_fails=0;\n}\n\n`,
    );
    expect(value(handle, 'web.upstream.onlyoffice.spellchecker')).toBe(
      `upstream spellchecker_${B64} {\n\tserver\t mb1:7085;\n}\n\n`,
    );
  });

  it('follows zimbraDocumentServerHost and writes each document server once', () => {
    const handle = setup(
      [
        server('docs1', { zimbraId: ID, zimbraServiceEnabled: ['onlyoffice'] }),
        mailboxServer('mb1'),
        mailboxServer('mb2'),
      ],
      { zimbraDocumentServerHost: 'docs1' },
    );
    expect(value(handle, 'web.upstream.onlyoffice.docservice')).toBe(
      `upstream docservice_${B64} {\n\tserver\t docs1:7084 fail_timeout=0s max_fails=0;\n}\n\n`,
    );
  });

  it('ignores a named document server that does not run onlyoffice', () => {
    const handle = setup([
      server('docs1'),
      mailboxServer('mb1', { zimbraDocumentServerHost: 'docs1' }),
    ]);
    expect(value(handle, 'web.upstream.onlyoffice.docservice')).toBe('');
    expect(handle.problems).toEqual([]);
  });

  it('reports a zimbraDocumentServerHost that names no server', () => {
    const handle = setup([mailboxServer('mb1', { zimbraDocumentServerHost: 'gone' })]);
    expect(value(handle, 'web.upstream.onlyoffice.docservice')).toBe('');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraDocumentServerHost',
        entry: 'server mb1',
        value: 'gone',
        hint: 'zmprov ms mb1 zimbraDocumentServerHost <document server name>',
      }),
    ]);
  });
});

describe('server explosion items', () => {
  it('yields every server sorted by name with its services, id and host name', () => {
    const handle = setup([
      mailboxServer('a.example.com', { zimbraServiceHostname: 'a.internal' }),
      server('b.example.com', { zimbraServiceEnabled: ['onlyoffice'] }),
      server('c.example.com'),
    ]);
    expect(computeServerItems(handle.ctx)).toEqual([
      {
        server: 'a.example.com',
        services: ['mailbox', 'service', 'zimbra', 'zimbraAdmin'],
        vars: { server_id: idFor('a.example.com'), server_hostname: 'a.internal' },
      },
      {
        server: 'b.example.com',
        services: ['onlyoffice'],
        vars: { server_id: idFor('b.example.com'), server_hostname: 'b.example.com' },
      },
      {
        server: 'c.example.com',
        services: [],
        vars: { server_id: idFor('c.example.com'), server_hostname: 'c.example.com' },
      },
    ]);
  });

  it('reports a host name that is not valid', () => {
    const handle = setup([server('a', { zimbraServiceHostname: 'a;b' })]);
    expect(computeServerItems(handle.ctx)[0]?.vars['server_hostname']).toBe('');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraServiceHostname', entry: 'server a' }),
    ]);
  });
});
