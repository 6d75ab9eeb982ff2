// Drives the admin console in a real headless browser (Debian's chromium through playwright-core)
// in one language, as a B2B account's administrator and as platform staff; axe-core runs on
// every page (no serious or critical violation). Run by tests/api/console.rs, which passes:
//   BASE, LANG_UNDER_TEST (en|ru), TEXTS ({"en": {...}, "ru": {...}}), CHROMIUM, SHOTS (optional)
//   PASSWORD        every test user's password
//   ACCOUNT_ADMIN   a client_admin of the account ACCOUNT_NAME
//   STAFF           a user with the admin role
//   FOREIGN_USER    the id of a user of another account
// Prints a JSON summary; exits non-zero with the reason on the first failure.
import { checker, launch } from './pagecheck.mjs';

const env = process.env;
const LANG = env.LANG_UNDER_TEST;
const T = JSON.parse(env.TEXTS)[LANG];
const summary = { lang: LANG, pages: [] };
const { fail, expect, check, h1 } = checker(env, summary);
const suffix = `${LANG}${Date.now() % 100000}`;

// Opens the console and signs in on Propusk's own sign-in page, from the keyboard.
async function signIn(page, username) {
  await page.goto(`${env.BASE}/console`);
  if (!new URL(page.url()).pathname.startsWith('/login')) fail(`the console did not send to the sign-in page: ${page.url()}`);
  expect(await h1(page), T.sign_in_title, 'sign-in heading');
  await page.focus('#login');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(env.PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === '/console');
  expect(await h1(page), T.c_title, 'console heading');
}

async function status(page) {
  return (await page.textContent('[role="status"]')).trim();
}

const { browser, context } = await launch(env, { width: 1200, height: 800 });
try {
  // --- a B2B account's administrator ---
  let page = await (await context()).newPage();
  await signIn(page, env.ACCOUNT_ADMIN);
  if (!(await page.textContent('main')).includes(env.ACCOUNT_NAME)) fail('the home page does not name the account');
  if (await page.$('a[href="/console/applications"]')) fail('an account admin is offered the applications');
  await check(page, 'console-home');

  // Keyboard: the sections are links reached by Tab, in order, before the sign-out button.
  await page.focus('header.console a');
  const order = [];
  for (let i = 0; i < 5; i++) {
    order.push(await page.evaluate(() => document.activeElement.textContent.trim()));
    await page.keyboard.press('Tab');
  }
  expect(order[0], T.c_home, 'first link');
  expect(order[1], T.c_users, 'second link');

  await page.click(`header.console a[href="/console/users"]`);
  expect(await h1(page), T.c_users, 'users heading');
  await check(page, 'console-users');

  // Create a user.
  await page.click('a[href="/console/users/new"]');
  expect(await h1(page), T.c_new_user, 'new user heading');
  await check(page, 'console-user-new');
  const username = `dina-${suffix}`;
  await page.fill('#username', username);
  await page.fill('#password', 'a long enough password');
  await page.selectOption('#role', 'client_user');
  await page.fill('#email', `${username}@acme.example`);
  await page.click('form.narrow button[type="submit"]');
  await page.waitForSelector('[role="status"]');
  expect(await h1(page), username, 'the new user page');
  expect(await status(page), T.c_done_created, 'created message');
  await check(page, 'console-user');

  // Block: the console asks first; Cancel changes nothing, Yes blocks.
  await page.click('button.danger >> nth=0');
  expect(await h1(page), T.c_confirm_title, 'confirmation heading');
  await check(page, 'console-confirm');
  await page.click('button.danger');
  await page.waitForSelector('[role="status"]');
  expect(await status(page), T.c_done_blocked, 'blocked message');
  if (!(await page.textContent('dl.facts')).includes(T.c_status_blocked)) fail('the user is not shown blocked');

  // Search finds the user, blocked.
  await page.goto(`${env.BASE}/console/users?q=${encodeURIComponent(username)}&status=blocked`);
  if (!(await page.textContent('table')).includes(username)) fail('the search did not find the blocked user');

  // Another account's user is out of reach.
  const foreign = await page.goto(`${env.BASE}/console/users/${env.FOREIGN_USER}`);
  expect(foreign.status(), 404, "another account's user");
  await check(page, 'console-not-found');

  // The account's page and its audit trail.
  await page.goto(`${env.BASE}/console`);
  await page.click(`header.console a[href^="/console/accounts/"]`);
  expect(await h1(page), env.ACCOUNT_NAME, 'account heading');
  await check(page, 'console-account');
  await page.goto(`${env.BASE}/console/audit`);
  expect(await h1(page), T.c_audit, 'audit heading');
  if (!(await page.textContent('table')).includes('user.block')) fail('the block is not in the audit trail');
  await check(page, 'console-audit-account');

  // Sign out: the provider's sign-out page asks, then the console wants a sign-in again.
  await page.click('form.signout button');
  expect(await h1(page), T.sign_out_heading, 'sign-out heading');
  await page.click('button[type="submit"]');
  await page.goto(`${env.BASE}/console`);
  if (!new URL(page.url()).pathname.startsWith('/login')) fail('still signed in to the console after signing out');

  // --- platform staff ---
  page = await (await context()).newPage();
  await signIn(page, env.STAFF);
  await check(page, 'console-home-staff');
  await page.click(`header.console a[href="/console/accounts"]`);
  expect(await h1(page), T.c_accounts, 'accounts heading');
  await check(page, 'console-accounts');
  const company = `Initech ${suffix}`;
  await page.fill('#account-name', company);
  await page.click('form.narrow button[type="submit"]');
  await page.waitForSelector('[role="status"]');
  expect(await h1(page), company, 'the new account page');
  await check(page, 'console-account-staff');

  await page.click(`header.console a[href="/console/applications"]`);
  expect(await h1(page), T.c_applications, 'applications heading');
  await check(page, 'console-applications');
  await page.fill('#app-name', `Tracker ${suffix}`);
  await page.fill('#redirect_uris', 'https://tracker.example.com/callback');
  await page.check('#g-code');
  await page.check('#g-refresh');
  await page.click('form.narrow button[type="submit"]');
  await page.waitForSelector('#secret');
  const secret = (await page.textContent('#secret')).trim();
  if (secret.length !== 43) fail(`the secret shown is ${secret.length} characters`);
  await check(page, 'console-secret');
  await page.click('main p a');
  if ((await page.content()).includes(secret)) fail('the secret is shown again');
  await check(page, 'console-application');

  await page.click(`header.console a[href="/console/roles"]`);
  await check(page, 'console-roles');
  await page.click(`header.console a[href="/console/audit"]`);
  if (!(await page.textContent('table')).includes('application.create')) fail('the application is not in the audit trail');
  await check(page, 'console-audit');
  console.log(JSON.stringify(summary));
} finally {
  await browser.close();
}
