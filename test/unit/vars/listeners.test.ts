import { describe, expect, it } from 'vitest';
import { checkListenerPorts } from '../../../src/vars/listeners.js';

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
});
