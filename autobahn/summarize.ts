/**
 * Summarizes Autobahn testsuite reports: reads `reports/servers/index.json` and
 * `reports/clients/index.json` (shape `{ agent: { "1.1.1": { behavior, behaviorClose, ... } } }`),
 * prints a per-section table per agent and mode, and fails when any case's `behavior` or
 * `behaviorClose` is other than OK or INFORMATIONAL. NON-STRICT results are accepted but counted
 * and listed. `npx tsx autobahn/summarize.ts [reports-dir]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One case's result as Autobahn writes it in index.json. */
export interface CaseResult {
  readonly behavior: string;
  readonly behaviorClose: string;
  readonly duration?: number;
  readonly remoteCloseCode?: number | null;
  readonly reportfile?: string;
}

/** Autobahn's index.json: agent → case id → result. */
export type AutobahnIndex = Readonly<Record<string, Readonly<Record<string, CaseResult>>>>;

/** Counts for one section (the first number of the case id). */
export interface SectionSummary {
  readonly section: string;
  ok: number;
  nonStrict: number;
  informational: number;
  failed: number;
}

/** The verdict on one agent's results. */
export interface AgentSummary {
  readonly agent: string;
  readonly sections: SectionSummary[];
  /** Cases whose behavior or behaviorClose is not OK, INFORMATIONAL or NON-STRICT: id → "behavior/behaviorClose". */
  readonly failures: [string, string][];
  /** Cases passed as NON-STRICT. */
  readonly nonStrict: string[];
  readonly total: number;
}

const ACCEPTED = new Set(['OK', 'INFORMATIONAL']);

/** Compare case ids like 6.4.10 and 6.4.2 numerically. */
export function compareCaseIds(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Summarize every agent of an index. */
export function summarize(index: AutobahnIndex): AgentSummary[] {
  return Object.keys(index).map((agent) => {
    const cases = index[agent]!;
    const sections = new Map<string, SectionSummary>();
    const failures: [string, string][] = [];
    const nonStrict: string[] = [];
    const ids = Object.keys(cases).sort(compareCaseIds);
    for (const id of ids) {
      const result = cases[id]!;
      const section = id.split('.')[0]!;
      let summary = sections.get(section);
      if (summary === undefined) sections.set(section, (summary = { section, ok: 0, nonStrict: 0, informational: 0, failed: 0 }));
      const closeOk = ACCEPTED.has(result.behaviorClose);
      if (result.behavior === 'OK' && closeOk) summary.ok++;
      else if (result.behavior === 'INFORMATIONAL' && closeOk) summary.informational++;
      else if (result.behavior === 'NON-STRICT' && closeOk) {
        summary.nonStrict++;
        nonStrict.push(id);
      } else {
        summary.failed++;
        failures.push([id, `${result.behavior}/${result.behaviorClose}`]);
      }
    }
    return { agent, sections: [...sections.values()].sort((a, b) => Number(a.section) - Number(b.section)), failures, nonStrict, total: ids.length };
  });
}

/** The committed expectations: case id → expected behavior (also expected of behaviorClose, OK or INFORMATIONAL). */
export interface ExpectedResults {
  readonly excluded: readonly string[];
  readonly cases: Readonly<Record<string, string>>;
}

/** Cases whose result differs from the expectation (better or worse), and expected cases that did not run. */
export function compareWithExpected(index: AutobahnIndex, expected: ExpectedResults): string[] {
  const differences: string[] = [];
  for (const [agent, cases] of Object.entries(index)) {
    for (const [id, want] of Object.entries(expected.cases)) {
      const got = cases[id];
      if (got === undefined) differences.push(`${agent} ${id}: expected ${want}, not run`);
      else if (got.behavior !== want || (got.behaviorClose !== want && got.behaviorClose !== 'OK')) {
        differences.push(`${agent} ${id}: expected ${want}, got ${got.behavior}/${got.behaviorClose}`);
      }
    }
    for (const id of Object.keys(cases)) {
      if (!(id in expected.cases)) differences.push(`${agent} ${id}: ran but is not in the expected results`);
    }
  }
  return differences;
}

/** A printable table of a summary. */
export function formatSummary(title: string, summary: AgentSummary): string {
  const lines = [`${title}: agent ${summary.agent}, ${summary.total} cases`, 'section      OK  NON-STRICT  INFORMATIONAL  FAILED'];
  for (const s of summary.sections) {
    lines.push(`${s.section.padEnd(8)} ${String(s.ok).padStart(6)} ${String(s.nonStrict).padStart(11)} ${String(s.informational).padStart(14)} ${String(s.failed).padStart(7)}`);
  }
  if (summary.nonStrict.length) lines.push(`NON-STRICT: ${summary.nonStrict.join(', ')}`);
  for (const [id, what] of summary.failures) lines.push(`FAILED ${id}: ${what}`);
  return lines.join('\n');
}

/** Read, print and judge the reports under `dir` (against `expected` when given); returns the process exit code. */
export function main(dir: string, log: (line: string) => void = console.log, expected?: ExpectedResults): number {
  let failed = false;
  let found = 0;
  for (const [mode, file] of [
    ['our server (fuzzingclient)', join(dir, 'servers', 'index.json')],
    ['our client (fuzzingserver)', join(dir, 'clients', 'index.json')],
  ] as const) {
    if (!existsSync(file)) {
      log(`${mode}: no report at ${file}`);
      continue;
    }
    found++;
    const index = JSON.parse(readFileSync(file, 'utf8')) as AutobahnIndex;
    for (const summary of summarize(index)) {
      log(formatSummary(mode, summary));
      if (summary.failures.length !== 0 || summary.total === 0) failed = true;
    }
    if (expected !== undefined) {
      const differences = compareWithExpected(index, expected);
      for (const line of differences) log(`DIFFERS from expected-results.json: ${line}`);
      if (differences.length !== 0) failed = true;
    }
  }
  if (found === 0) return 2;
  return failed ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const expected = JSON.parse(readFileSync(join(import.meta.dirname, 'expected-results.json'), 'utf8')) as ExpectedResults;
  process.exit(main(process.argv[2] ?? join(import.meta.dirname, 'reports'), console.log, expected));
}
