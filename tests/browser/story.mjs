// The hosted pages in a real browser (Debian's Chromium, driven by
// Playwright): a person signs up, verifies the address from the mail the
// local SES holds, signs out and in, turns on an authenticator app, signs in
// with it, adds a passkey (the DevTools protocol's virtual authenticator) and
// signs in with it alone, ends another session from the account page,
// recovers the password from the mail's link, and deletes the account. Every view is checked by
// axe-core, at a phone's width, without horizontal scrolling, and no
// content security policy violation or script error may happen on the way.
//
// Run by scripts/browser-test, which starts the service and sets:
//   BROWSER_BASE_URL      the service, http://localhost:<port>
//   BROWSER_SES_URL       the local SES (moto server)
//   BROWSER_TOOLS         where playwright-core and axe-core are installed
//   BROWSER_FAILURES      where a failing step's screenshot goes
//   BROWSER_SCREENSHOTS   optional: one screenshot per page, for docs/
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.BROWSER_TOOLS, "node_modules") + "/");
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const BASE = process.env.BROWSER_BASE_URL;
const SES = process.env.BROWSER_SES_URL;
const FAILURES = process.env.BROWSER_FAILURES;
const SCREENSHOTS = process.env.BROWSER_SCREENSHOTS;
const PHONE = { width: 390, height: 844 };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// --- What the person has besides the browser: a mailbox and an app ---------

async function mails() {
  const response = await fetch(`${SES}/moto-api/data.json`);
  check(response.ok, `the local SES answered ${response.status}`);
  return (await response.json()).ses?.Message ?? [];
}

// The newest message to `address` whose subject has `subject`, waited for.
async function mailTo(address, subject, after = 0) {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const found = (await mails())
      .slice(after)
      .filter((m) => m.destinations.ToAddresses.includes(address) && m.subject.includes(subject));
    if (found.length) return found.at(-1);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no mail "${subject}" reached ${address}`);
}

const unescapeHtml = (text) =>
  text.replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

// RFC 6238 with SHA-1, 30-second steps, six digits: what an authenticator
// app shows for `secret` (RFC 4648 base32) at step `step`.
function totp(secret, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secret) bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[19] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

const currentStep = () => Math.floor(Date.now() / 30_000);

async function api(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${BASE}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

// --- The browser -------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: PHONE });
context.setDefaultTimeout(30_000);
const page = await context.newPage();

const problems = [];
page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
page.on("console", (message) => {
  // A refused request (a wrong password, say) is logged by the browser as a
  // failed load: the story asks for some on purpose.
  const expected = /^Failed to load resource: the server responded with a status of 4\d\d/;
  if (message.type() === "error" && !expected.test(message.text())) problems.push(`console: ${message.text()}`);
});
await context.addInitScript(() => {
  document.addEventListener("securitypolicyviolation", (event) => {
    console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
  });
});

// The view on screen: its fields and buttons, not the hidden views' ones.
const view = () => page.locator("section.view:not([hidden])");
const field = (label) => view().getByLabel(label, { exact: true });
const button = (name) => view().getByRole("button", { name, exact: true });
const status = page.locator("#status");
const error = page.locator("#error");

async function expectView(title) {
  await page.waitForFunction(
    (expected) => document.querySelector("section.view:not([hidden]) h1")?.textContent === expected,
    title,
  );
}

async function expectText(locator, text) {
  await locator.filter({ hasText: text }).waitFor();
}

const audited = new Set();

// axe-core on the page as it is: no serious or critical violation; and
// nothing wider than a phone's screen.
async function audit(name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const grave = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(
    grave.length === 0,
    `${name}: axe found ${grave.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target).join(", ")}`).join("; ")}`,
  );
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${name}: ${overflow} px wider than a phone's screen`);
  audited.add(name);
  if (SCREENSHOTS) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }
}

let current = "start";
async function step(name, body) {
  current = name;
  const started = Date.now();
  await body();
  console.log(`  ok  ${name} (${Date.now() - started} ms)`);
}

const username = `pat-${randomBytes(3).toString("hex")}`;
const address = `${username}@example.com`;
let password = "a long passphrase for the browser story";
let secret;
let recoveryCodes;
let otherSession;
let devtools;
let authenticatorId;

try {
  await step("the sign-in page opens at /app/", async () => {
    await page.goto(`${BASE}/app/`);
    await expectView("Sign in");
    await audit("sign-in");
  });

  await step("sign up, signed in at once", async () => {
    await view().getByRole("link", { name: "Create an account" }).click();
    await expectView("Create an account");
    await audit("sign-up");
    await field("Username").fill(username);
    await field("Email (optional, needed to recover the account)").fill(address);
    await field("Password").fill(password);
    await button("Create account").click();
    await expectView("Your account");
    await expectText(status, `We mailed a code to ${address}`);
    await expectText(page.locator("#profile-email"), "(not verified)");
  });

  await step("verify the address with the mailed code", async () => {
    const mail = await mailTo(address, "verification code");
    const code = mail.body.match(/Your code: (\d{8})/)[1];
    await field("Code mailed to your address").fill(code);
    await button("Verify the address").click();
    await expectText(status, "Your address is verified.");
    await expectText(page.locator("#profile-email"), "(verified)");
    await page.locator("#verify-email-form").waitFor({ state: "hidden" });
  });

  await step("sign out, and a wrong password is refused in words", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expectView("Sign in");
    await expectText(status, "You are signed out.");
    await field("Username").fill(username);
    await field("Password").fill("not the password at all, clearly");
    await button("Sign in").click();
    await expectText(error, "That username and password do not match an account.");
  });

  await step("sign in with the password", async () => {
    await field("Password").fill(password);
    await button("Sign in").click();
    await expectView("Your account");
    await expectText(page.locator("#activity-list"), "Failed sign-in");
  });

  await step("turn on an authenticator app from its QR code and secret", async () => {
    await page.locator("#enrol-totp-password").fill(password);
    await button("Set up an authenticator app").click();
    await page.locator("#totp-secret").filter({ hasText: /^[A-Z2-7]{32}$/ }).waitFor();
    secret = await page.locator("#totp-secret").textContent();
    // The QR code is an image the policy lets load.
    const qrWidth = await page.locator("#totp-qr").evaluate(async (img) => {
      await img.decode();
      return img.naturalWidth;
    });
    check(qrWidth > 0, "the QR code did not load");
    await audit("account-totp-setup");
    await field("Six digits from the app").fill(totp(secret, currentStep()));
    await button("Turn it on").click();
    await expectText(status, "The authenticator app is on.");
    await page.locator("#recovery-codes-list li").nth(9).waitFor();
    recoveryCodes = await page.locator("#recovery-codes-list li").allTextContents();
    check(recoveryCodes.length === 10, `${recoveryCodes.length} recovery codes shown`);
    await expectText(page.locator("#profile-mfa"), "authenticator app");
  });

  await step("another device signs in (through the API)", async () => {
    const login = await api("POST", "/auth/login", { username, password });
    check(login.json?.mfa_required === true, `login: ${JSON.stringify(login)}`);
    const verified = await api("POST", "/auth/mfa/verify", { mfa_token: login.json.mfa_token, code: recoveryCodes[0] });
    check(verified.status === 200, `verify: ${JSON.stringify(verified)}`);
    otherSession = verified.json;
  });

  await step("sign out, and in with the password and the app's code", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expectView("Sign in");
    await field("Username").fill(username);
    await field("Password").fill(password);
    await button("Sign in").click();
    await expectView("Second factor");
    await audit("second-factor");
    // The step after the one the confirmation used: within the allowed skew, and not a replay.
    await field("Code").fill(totp(secret, currentStep() + 1));
    await button("Verify").click();
    await expectView("Your account");
  });

  await step("add a passkey from the account page (the DevTools protocol's virtual authenticator)", async () => {
    devtools = await context.newCDPSession(page);
    await devtools.send("WebAuthn.enable");
    ({ authenticatorId } = await devtools.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
    await field("Name of the new passkey").fill("This laptop");
    await button("Add a passkey").click();
    await expectText(status, 'The passkey "This laptop" is added');
    await expectText(page.locator("#passkeys-list"), "This laptop");
    await audit("account");
  });

  await step("sign out, and in with the passkey alone, from the browser's autofill", async () => {
    // The sign-in page asks for a passkey with conditional mediation; the
    // virtual authenticator, present and verifying, answers as a person
    // picking the passkey in the username field's autofill would.
    await page.getByRole("button", { name: "Sign out" }).click();
    await expectText(page.locator("#activity-list"), "Signed in with a passkey");
    await expectView("Your account");
    await expectText(page.locator("#passkeys-list"), "last used");
    // From now on the person picks nothing: the sign-in page's request waits.
    await devtools.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
  });

  await step("end the other device's session from the account page", async () => {
    const sessions = page.locator("#sessions-list li");
    await sessions.nth(1).waitFor();
    check((await sessions.count()) === 2, `${await sessions.count()} sessions listed`);
    await page.getByRole("button", { name: /^End the session of/ }).click();
    await expectText(status, "The session is ended.");
    await page.waitForFunction(() => document.querySelectorAll("#sessions-list li").length === 1);
    const refused = await api("POST", "/auth/refresh", { refresh_token: otherSession.refresh_token });
    check(refused.status === 401, `the ended session still refreshes: ${refused.status}`);
    const profile = await api("GET", "/users/me", undefined, otherSession.access_token);
    check(profile.status === 401, `the ended session's access token still works: ${profile.status}`);
  });

  await step("recover the password from the mail's link", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await view().getByRole("link", { name: "Forgot your password?" }).click();
    await expectView("Recover your account");
    await audit("recover");
    const before = (await mails()).length;
    await field("Username or email").first().fill(username);
    await button("Mail me a code").click();
    await expectText(status, "a code is on its way");
    const mail = await mailTo(address, "recovery code", before);
    const link = unescapeHtml(mail.body.match(/href="([^"]+)"/)[1]);
    check(link.startsWith(`${BASE}/app#/recover?`), `the mail links to ${link}`);
    await page.goto(link);
    await expectView("Recover your account");
    check(!page.url().includes("code="), `the code stays in the address bar: ${page.url()}`);
    check((await page.locator("#recover-code").inputValue()).length === 8, "the code is not filled in");
    password = "another long passphrase after recovery";
    await field("New password").fill(password);
    await button("Set the new password").click();
    await expectView("Sign in");
    await expectText(status, "Your password is changed.");
  });

  await step("sign in with the new password and a recovery code", async () => {
    await field("Password").fill(password);
    await button("Sign in").click();
    await expectView("Second factor");
    await field("Code").fill(recoveryCodes[1]);
    await button("Verify").click();
    await expectView("Your account");
    await expectText(page.locator("#activity-list"), "Password reset by mail");
  });

  await step("delete the account", async () => {
    await page.locator("#delete-account-password").fill(password);
    await page.locator("#delete-account-code").fill(recoveryCodes[2]);
    await button("Delete my account").click();
    await expectView("Sign in");
    await expectText(status, "Your account is deleted.");
    await field("Username").fill(username);
    await field("Password").fill(password);
    await button("Sign in").click();
    await expectText(error, "That username and password do not match an account.");
    // The device still holds the passkey; the service refuses it.
    await devtools.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: true });
    await button("Sign in with a passkey").click();
    await expectText(error, "That passkey does not sign in to any account here.");
  });

  current = "the pages logged no problem";
  check(problems.length === 0, `the pages logged problems:\n  ${problems.join("\n  ")}`);
  console.log(`  every page passed axe-core: ${[...audited].join(", ")}`);
} catch (failure) {
  mkdirSync(FAILURES, { recursive: true });
  const shot = join(FAILURES, `${current.replace(/[^a-z0-9]+/gi, "-")}.png`);
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  console.error(`FAILED at "${current}": ${failure.message}`);
  console.error(`  screenshot: ${shot}`);
  if (problems.length) console.error(`  the pages logged:\n    ${problems.join("\n    ")}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
