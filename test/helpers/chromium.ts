/**
 * Headless Chromium for the browser tests: Debian's `chromium` (installed by `.ci/run`) driven by
 * playwright-core, launched with the same flags everywhere.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Whether the browser is installed (the browser tests are skipped without it). */
export const chromiumAvailable = existsSync(CHROMIUM);

/** Launch headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
