import { describe, expect, it } from 'vitest';
import { checkListenerPorts, checkWorkerConnections } from '../../../src/vars/listeners.js';

const ON = {
  'web.enabled': '',
  'web.http.enabled': '',
  'web.https.enabled': '',
  'web.http.port': '80',
  'web.https.port': '443',
  'mail.enabled': '',
  'mail.imap.enabled': '',
  'mail.imap.port': '143',
};

describe('checkListenerPorts', () => {
  it('accepts distinct ports of enabled listeners', () => {
    expect(checkListenerPorts(new Map(Object.entries(ON)), 'p1')).toEqual([]);
  });

  it('refuses port 0 for an enabled listener, and ignores a disabled one', () => {
    const vars = new Map(Object.entries({ ...ON, 'web.https.port': '0' }));
    expect(checkListenerPorts(vars, 'p1')).toEqual([
      expect.objectContaining({ subject: 'zimbraMailSSLProxyPort', value: '0' }),
    ]);
    vars.set('web.https.enabled', '#');
    expect(checkListenerPorts(vars, 'p1')).toEqual([]);
  });

  it('refuses HTTP on the HTTPS port and IMAP on the HTTP port', () => {
    const vars = new Map(Object.entries({ ...ON, 'web.https.port': '80', 'mail.imap.port': '80' }));
    expect(checkListenerPorts(vars, 'p1').map((p) => p.subject)).toEqual([
      'zimbraMailSSLProxyPort',
      'zimbraImapProxyBindPort',
    ]);
  });

  describe('checkWorkerConnections', () => {
    const files = [
      { content: 'server { listen 80; }\nserver { listen 80; listen 443 ssl; }\n# listen 8080;\n' },
    ];
    it('needs more worker connections than distinct listening sockets', () => {
      const vars = (n: string) => new Map([['main.connections', n]]);
      expect(checkWorkerConnections(files, vars('3'), 'p1')).toEqual([]);
      expect(checkWorkerConnections(files, vars('2'), 'p1')).toEqual([
        expect.objectContaining({ subject: 'zimbraReverseProxyWorkerConnections', value: '2' }),
      ]);
    });
  });
});
