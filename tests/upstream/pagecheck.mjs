// What the browser scripts (browser.mjs, console.mjs) share: failing with the language named,
// checking a page (its <html lang>, axe-core with no serious or critical violation, an optional
// screenshot), reading its heading, and launching Debian's chromium.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export function checker(env, summary) {
  const LANG = env.LANG_UNDER_TEST;
  const fail = (message) => {
    throw new Error(`[${LANG}] ${message}`);
  };
  const expect = (actual, wanted, what) => {
    if (actual !== wanted) fail(`${what}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual)}`);
  };
  const check = async (page, name) => {
    expect(await page.getAttribute('html', 'lang'), page.__lang ?? LANG, `${name}: <html lang>`);
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    summary.pages.push({ name, url: new URL(page.url()).pathname, violations: result.violations.map((v) => `${v.id}:${v.impact}`) });
    if (bad.length) {
      fail(`${name}: accessibility violations: ${JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html) })))}`);
    }
    if (env.SHOTS) {
      mkdirSync(env.SHOTS, { recursive: true });
      await page.screenshot({ path: `${env.SHOTS}/${name}-${LANG}.png`, fullPage: true });
    }
  };
  const h1 = async (page) => (await page.textContent('h1')).trim();
  return { fail, expect, check, h1 };
}

// A browser, and a context asking for the language under test (Accept-Language picks the
// pages' language); axe-core is injected past the pages' CSP, which forbids every script.
export async function launch(env, viewport = { width: 900, height: 760 }) {
  const browser = await chromium.launch({ executablePath: env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const context = async () =>
    browser.newContext({ locale: env.LANG_UNDER_TEST === 'ru' ? 'ru-RU' : 'en-US', bypassCSP: true, viewport });
  return { browser, context };
}
