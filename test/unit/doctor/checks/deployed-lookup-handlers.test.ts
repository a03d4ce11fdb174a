import { describe, expect, it } from 'vitest';
import {
  checkDeployedLookupHandlers,
  computeExpectedHandlers,
  parseDeployedHandlers,
} from '../../../../src/doctor/checks/deployed-lookup-handlers.js';
import type { FileRead } from '../../../../src/doctor/probes/files.js';
import { MBOX, PROXY, doctorContext } from '../../../helpers/doctor-context.js';

const HANDLER = 'https://10.0.0.11:7072/service/extension/nginx-lookup';
const PATH = '/z/conf/nginx/current/includes/nginx.conf.zmlookup';

function served(text: string): FileRead {
  return { path: PATH, ok: true, text, truncated: false };
}

describe('checkDeployedLookupHandlers', () => {
  const ctx = doctorContext({}, [PROXY, MBOX]);

  it("passes when Zimbra's zm_lookup_handlers lists what the directory gives", () => {
    expect(computeExpectedHandlers(ctx, 'zimbra')).toEqual([HANDLER]);
    const findings = checkDeployedLookupHandlers(ctx, {
      set: 'zimbra',
      lookupConfig: served(`zm_lookup {\n    zm_lookup_handlers  ${HANDLER};\n}\n`),
    });
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });

  it('fails a handler added by hand to nginx.conf.zmlookup, naming it and the fix', () => {
    const extra = 'https://10.0.0.25:7072/service/extension/nginx-lookup';
    const findings = checkDeployedLookupHandlers(ctx, {
      set: 'zimbra',
      lookupConfig: served(`zm_lookup {\n    zm_lookup_handlers  ${HANDLER} ${extra};\n}\n`),
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]?.severity).toBe('fail');
    expect(findings[0]?.evidence).toContain(`not from the directory: ${extra}`);
    expect(findings[0]?.fix).toBe('zmproxyconfgen --apply');
  });

  it("compares the stock set's upstream zmlookup block, and names a missing server", () => {
    const expected = computeExpectedHandlers(ctx, 'stock');
    expect(expected).toEqual(['127.0.0.1:7077']);
    const good = served(
      `# upstream zmlookup { server 10.9.9.9:1; }\nupstream zmlookup {\n    server    127.0.0.1:7077 fail_timeout=60s;\n    keepalive  8;\n}\n`,
    );
    expect(
      checkDeployedLookupHandlers(ctx, { set: 'stock', lookupConfig: good })[0]?.severity,
    ).toBe('ok');
    const bad = served(
      'upstream zmlookup {\n    server    127.0.0.9:7077;\n    keepalive  8;\n}\n',
    );
    const [finding] = checkDeployedLookupHandlers(ctx, { set: 'stock', lookupConfig: bad });
    expect(finding?.severity).toBe('fail');
    expect(finding?.evidence).toContain('not from the directory: 127.0.0.9:7077');
    expect(finding?.evidence).toContain('missing: 127.0.0.1:7077');
  });

  it('warns when nothing is deployed but the directory gives handlers', () => {
    const [finding] = checkDeployedLookupHandlers(ctx, {
      set: 'zimbra',
      lookupConfig: { path: PATH, ok: false, missing: true, error: 'no such file' },
    });
    expect(finding?.severity).toBe('warn');
  });

  it('parses only the directive, not comments', () => {
    expect(
      parseDeployedHandlers('# zm_lookup_handlers http://x;\nzm_lookup_handlers a b;\n', 'zimbra'),
    ).toEqual(['a', 'b']);
  });
});
