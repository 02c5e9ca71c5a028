import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compareCaseIds, compareWithExpected, type ExpectedResults, main, summarize } from './summarize.js';

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

  it('fails when a result differs from the committed expectations, naming the case', () => {
    const expected: ExpectedResults = { excluded: [], cases: { '1.1.1': 'OK', '2.10': 'OK', '6.4.1': 'OK', '6.4.10': 'OK', '7.1.6': 'INFORMATIONAL' } };
    const lines: string[] = [];
    expect(main(join(fixtures, 'passing'), (l) => lines.push(l), expected)).toBe(1);
    expect(lines.join('\n')).toContain('DIFFERS from expected-results.json: rfc6455 6.4.10: expected OK, got NON-STRICT/OK');
    expect(compareWithExpected({ a: { '1.1.1': { behavior: 'OK', behaviorClose: 'OK' } } }, { excluded: [], cases: { '1.1.1': 'OK', '1.1.2': 'OK' } })).toEqual([
      'a 1.1.2: expected OK, not run',
    ]);
  });

  it('the committed expectations list all 517 cases of sections 1-7, 9, 10, 12 and 13, all OK but the informational ones', () => {
    const expected = JSON.parse(readFileSync(join(import.meta.dirname, 'expected-results.json'), 'utf8')) as ExpectedResults;
    const ids = Object.keys(expected.cases);
    expect(ids).toHaveLength(517);
    const perSection = new Map<string, number>();
    for (const id of ids) perSection.set(id.split('.')[0]!, (perSection.get(id.split('.')[0]!) ?? 0) + 1);
    expect(Object.fromEntries(perSection)).toEqual({ '1': 16, '2': 11, '3': 7, '4': 10, '5': 20, '6': 145, '7': 37, '9': 54, '10': 1, '12': 90, '13': 126 });
    expect(ids.filter((id) => expected.cases[id] !== 'OK')).toEqual(['7.1.6', '7.13.1', '7.13.2']);
    expect(expected.excluded).toEqual([]);
  });

  it('orders case ids numerically and groups by section', () => {
    expect(['6.4.10', '6.4.2', '10.1.1', '2.1'].sort(compareCaseIds)).toEqual(['2.1', '6.4.2', '6.4.10', '10.1.1']);
    const [summary] = summarize({ a: { '9.1.1': { behavior: 'OK', behaviorClose: 'OK' }, '10.1.1': { behavior: 'OK', behaviorClose: 'OK' } } });
    expect(summary!.sections.map((s) => s.section)).toEqual(['9', '10']);
  });
});
