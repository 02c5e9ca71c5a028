/**
 * The fuzz loop shared by `npm run fuzz` and the short run inside `npm test`: replays the
 * committed corpus through every target, then mutates corpus inputs with random chunk boundaries
 * until the iteration or time budget is spent. The first broken invariant stops the run and is
 * returned with the input that broke it, so it can be saved and turned into a unit test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutate, randomCuts, Rng } from './mutate.js';
import { type TargetName, targets } from './targets.js';

/** Directory of the committed seed corpus. */
export const CORPUS_DIR = join(import.meta.dirname, 'corpus');

/** What a fuzz run should do. */
export interface FuzzOptions {
  /** Stop after this many generated inputs (per run, all targets together). */
  readonly iterations: number;
  /** Stop after this many seconds. */
  readonly seconds: number;
  /** PRNG seed; the same seed replays the same inputs. */
  readonly seed: number;
  /** Targets to run; default all. */
  readonly only?: readonly TargetName[];
}

/** A broken invariant and how to reproduce it. */
export interface FuzzCrash {
  readonly target: TargetName;
  readonly input: Uint8Array;
  readonly cuts: number[];
  readonly error: unknown;
}

/** Outcome of a fuzz run. */
export interface FuzzReport {
  readonly executions: number;
  readonly corpusFiles: number;
  readonly crash: FuzzCrash | null;
}

/** Every `.bin` file of the committed corpus, by file name, in name order. */
export function loadCorpusFiles(dir: string = CORPUS_DIR): Map<string, Uint8Array> {
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.bin'))
    .sort();
  return new Map(names.map((name) => [name, new Uint8Array(readFileSync(join(dir, name)))]));
}

/** Load every file of the committed corpus. */
export function loadCorpus(dir: string = CORPUS_DIR): Uint8Array[] {
  return [...loadCorpusFiles(dir).values()];
}

/** Run the fuzz loop. */
export function runFuzz(options: FuzzOptions): FuzzReport {
  const names = options.only ?? (Object.keys(targets) as TargetName[]);
  const corpus = loadCorpus();
  const rng = new Rng(options.seed);
  let executions = 0;
  const attempt = (target: TargetName, input: Uint8Array, cuts: number[]): FuzzCrash | null => {
    executions++;
    try {
      targets[target](input, cuts);
      return null;
    } catch (error) {
      return { target, input, cuts, error };
    }
  };
  for (const input of corpus) {
    for (const target of names) {
      const crash = attempt(target, input, []) ?? attempt(target, input, Array.from({ length: input.length }, (_, i) => i));
      if (crash) return { executions, corpusFiles: corpus.length, crash };
    }
  }
  const deadline = Date.now() + options.seconds * 1000;
  for (let i = 0; i < options.iterations && Date.now() < deadline; i++) {
    const base = corpus.length && rng.below(8) !== 0 ? corpus[rng.below(corpus.length)]! : new Uint8Array(0);
    const input = mutate(base, corpus, rng);
    const cuts = randomCuts(input.length, rng);
    const crash = attempt(names[i % names.length]!, input, cuts);
    if (crash) return { executions, corpusFiles: corpus.length, crash };
  }
  return { executions, corpusFiles: corpus.length, crash: null };
}
