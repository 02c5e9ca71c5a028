import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareCaseIds, main, summarize } from './summarize.js';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('autobahn/summarize', () => {
  it('passes OK and INFORMATIONAL, counts NON-STRICT separately', () => {
    const lines: string[] = [];
    expect(main(join(fixtures, 'passing'), (l) => lines.push(l))).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/agent rfc6455, 5 cases/);
    expect(text).toMatch(/NON-STRICT: 6\.4\.10/);
    expect(text).toMatch(/\n6 +1 +1 +0 +0/);
    expect(text).toMatch(/no report at .*clients/);
  });

  it('fails on FAILED behavior and on a bad behaviorClose, naming each case', () => {
    const lines: string[] = [];
    expect(main(join(fixtures, 'failing'), (l) => lines.push(l))).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain('FAILED 5.15: FAILED/OK');
    expect(text).toContain('FAILED 7.9.1: OK/WRONG CODE');
  });

  it('fails when there is no report at all', () => {
    expect(main(join(fixtures, 'nowhere'), () => undefined)).toBe(2);
  });

  it('orders case ids numerically and groups by section', () => {
    expect(['6.4.10', '6.4.2', '10.1.1', '2.1'].sort(compareCaseIds)).toEqual(['2.1', '6.4.2', '6.4.10', '10.1.1']);
    const [summary] = summarize({ a: { '9.1.1': { behavior: 'OK', behaviorClose: 'OK' }, '10.1.1': { behavior: 'OK', behaviorClose: 'OK' } } });
    expect(summary!.sections.map((s) => s.section)).toEqual(['9', '10']);
  });
});
