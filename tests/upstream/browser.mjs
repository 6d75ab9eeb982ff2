// Drives Propusk's pages in a real headless browser (Debian's chromium through playwright-core)
// in one language: sign-in (by keyboard only), the language switch, consent, enrolling an
// authenticator app, sign-out and the reset page; runs axe-core on every page and fails on any
// serious or critical violation. Run by tests/api/pages.rs, which passes:
//   BASE       the server's address
//   AUTHORIZE  an /authorize URL of a third-party application (redirect URI https://client.example.com/cb)
//   USERNAME, PASSWORD, LANG_UNDER_TEST (en|ru), NOW (the server's unix time, for TOTP codes)
//   TEXTS      {"en": {...}, "ru": {...}}: the pages' texts from Propusk's catalogue
//   SHOTS      (optional) a directory to save screenshots in
// Prints a JSON summary; exits non-zero with the reason on the first failure.
import crypto from 'node:crypto';
import { checker, launch } from './pagecheck.mjs';

const env = process.env;
const LANG = env.LANG_UNDER_TEST;
const OTHER = LANG === 'ru' ? 'en' : 'ru';
const TEXTS = JSON.parse(env.TEXTS);
const T = TEXTS[LANG];
const summary = { lang: LANG, pages: [] };
const { fail, expect, check, h1 } = checker(env, summary);

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret, unix) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(value).padStart(6, '0');
}

const { browser, context: newContext } = await launch(env);
try {
  const context = await newContext();
  let page = await context.newPage();

  // Sign-in page of an application's request.
  await page.goto(env.AUTHORIZE);
  if (!new URL(page.url()).pathname.startsWith('/login')) fail(`the request did not reach the sign-in page: ${page.url()}`);
  expect(await h1(page), T.sign_in_title, 'sign-in heading');
  await check(page, 'login');

  // Keyboard only: Tab reaches the username, the password and the button, in that order.
  const order = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName.toLowerCase()));
  }
  expect(order.join(','), 'login,password,button', 'focus order');

  // A wrong password, typed and sent from the keyboard.
  await page.focus('#login');
  await page.keyboard.type(env.USERNAME);
  await page.keyboard.press('Tab');
  await page.keyboard.type('not the password');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.error');
  expect((await page.textContent('.error')).trim(), T.invalid_credentials, 'wrong password message');
  await check(page, 'login-error');

  // The switch shows the same sign-in in the other language, then back.
  await page.click(`nav.lang a[lang="${OTHER}"]`);
  page.__lang = OTHER;
  expect(await h1(page), TEXTS[OTHER].sign_in_title, 'heading after the switch');
  await check(page, 'login-switched');
  await page.click(`nav.lang a[lang="${LANG}"]`);
  page.__lang = LANG;
  expect(await h1(page), T.sign_in_title, 'heading after switching back');

  // Sign in; the third-party application asks for consent.
  await page.fill('#login', env.USERNAME);
  await page.fill('#password', env.PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1');
  expect(await h1(page), T.consent_heading, 'consent heading');
  await check(page, 'consent');
  // The answer goes to the application (a name that does not resolve here: its request is
  // enough).
  const [answer] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith('https://client.example.com/')),
    page.click('button[value="allow"]').catch(() => {}),
  ]);
  if (!new URL(answer.url()).searchParams.get('code')) fail(`no code after consent: ${answer.url()}`);
  await page.close(); // it shows the browser's own error for the unreachable application
  page = await context.newPage();

  // The account page: the profile saved from the keyboard, this browser's session, the sign-in
  // among the security events.
  await page.goto(`${env.BASE}/account`);
  expect(await h1(page), T.account_title, 'account heading');
  if (!(await page.textContent('ul.sessions')).includes(T.this_browser)) fail('this browser is not among the sessions');
  if (!(await page.textContent('table')).includes(T.ev_login)) fail('the sign-in is not among the events');
  await check(page, 'account');
  await page.fill('#name', 'Irina Ivanova');
  await page.selectOption('#locale', LANG);
  await page.focus('#name');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[role="status"]');
  expect((await page.textContent('[role="status"]')).trim(), T.profile_saved, 'profile saved message');
  expect(await page.inputValue('#name'), 'Irina Ivanova', 'the saved name');
  await check(page, 'account-saved');

  // Enrol an authenticator app on the account page.
  await page.goto(`${env.BASE}/account/security`);
  expect(await h1(page), T.security_title, 'account security heading');
  await check(page, 'account-security');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.key');
  await check(page, 'account-enrol');
  const key = (await page.textContent('.key')).trim();
  await page.fill('#code', totp(key, Number(env.NOW)));
  await page.keyboard.press('Enter');
  await page.waitForSelector('[role="status"]');
  expect((await page.textContent('[role="status"]')).trim(), T.authenticator_on, 'enrolled message');
  const codes = await page.$$('.codes li');
  if (codes.length !== 10) fail(`${codes.length} recovery codes shown`);
  await check(page, 'account-codes');

  // Another browser signs in; this one signs it out from the account page. (Now with an
  // authenticator, that sign-in takes its second step: a code for the next time step.)
  const other = await (await newContext()).newPage();
  await other.goto(`${env.BASE}/login`);
  await other.fill('#login', env.USERNAME);
  await other.fill('#password', env.PASSWORD);
  await other.keyboard.press('Enter');
  await other.waitForSelector('h1');
  if (await other.$('#code')) {
    await other.fill('#code', totp(key, Number(env.NOW) + 30));
    await other.keyboard.press('Enter');
    await other.waitForSelector('h1');
  }
  await page.goto(`${env.BASE}/account`);
  const rows = await page.$$('ul.sessions li');
  if (rows.length !== 2) fail(`${rows.length} sessions listed, not 2`);
  const others = await page.$$('ul.sessions li:not(:has-text("' + T.this_browser + '")) button');
  if (others.length !== 1) fail(`${others.length} other sessions to sign out`);
  await others[0].click();
  await page.waitForSelector('[role="status"]');
  expect((await page.textContent('[role="status"]')).trim(), T.session_ended, 'session signed out message');
  if ((await page.$$('ul.sessions li')).length !== 1) fail('the other session is still listed');
  await check(page, 'account-session-ended');
  await other.goto(`${env.BASE}/account`);
  expect((await other.textContent('main p')).trim(), T.sign_in_first, 'the signed-out browser');

  // Sign out (no ID token: the page asks first).
  await page.goto(`${env.BASE}/logout`);
  expect(await h1(page), T.sign_out_heading, 'sign-out heading');
  await check(page, 'logout');
  await page.click('button[type="submit"]');
  await page.waitForSelector('h1');
  expect(await h1(page), T.signed_out_title, 'signed-out heading');
  await check(page, 'signed-out');

  // The reset page, and the account page of a signed-out browser.
  await page.goto(`${env.BASE}/login/reset`);
  expect(await h1(page), T.reset_title, 'reset heading');
  await check(page, 'reset');
  await page.goto(`${env.BASE}/account/security`);
  expect((await page.textContent('main p')).trim(), T.sign_in_first, 'signed-out account page');
  await check(page, 'account-signed-out');
  console.log(JSON.stringify(summary));
} finally {
  await browser.close();
}
