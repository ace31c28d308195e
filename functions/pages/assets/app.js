// The hosted pages: sign up, sign in (with the second-factor step),
// recovery, and the account. One document, one view shown at a time by the
// URL's fragment (#/sign-in, #/sign-up, #/recover, #/account).
//
// Tokens live in this module's memory only, never in localStorage or a
// cookie a script could read: a reload signs the person out, and a script
// injected into another page of the origin finds nothing stored.

const session = { access: null, refresh: null, profile: null };
let mfaToken = null;

// --- Talking to the API, on this page's own origin ---------------------

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What a person reads for an error code; the API's own message otherwise.
const EXPLANATIONS = {
  invalid_credentials: "That username and password do not match an account.",
  invalid_code: "That code is not right, or it has expired.",
  too_many_requests: "Too many attempts. Wait a little, then try again.",
  account_disabled: "This account is disabled. Contact the service's operators.",
  username_taken: "That username is taken. Choose another.",
  email_taken: "That address belongs to another account.",
  mfa_required: "Enter a code of your second factor too.",
  invalid_token: "Your session has ended. Sign in again.",
  invalid_passkey: "The passkey was not added. Try again.",
  too_many_passkeys: "This account holds as many passkeys as it may: remove one first.",
  service_unavailable: "The service is busy. Try again in a moment.",
};

function explain(failure) {
  return EXPLANATIONS[failure.code] ?? failure.message ?? "Something went wrong.";
}

async function call(method, path, body, token) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiFailure(0, "network", "The service cannot be reached. Check your connection.");
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = json?.error ?? {};
    throw new ApiFailure(response.status, error.code ?? "unknown", error.message ?? response.statusText);
  }
  return json;
}

// A call as the signed-in person: an expired access token is refreshed once
// with the refresh token (which rotates), then the call is made again.
async function callSignedIn(method, path, body) {
  try {
    return await call(method, path, body, session.access);
  } catch (failure) {
    if (failure.code !== "invalid_token" || !session.refresh) throw failure;
    await refreshTokens();
    return call(method, path, body, session.access);
  }
}

async function refreshTokens() {
  try {
    keepTokens(await call("POST", "/auth/refresh", { refresh_token: session.refresh }));
  } catch (failure) {
    forget();
    throw failure;
  }
}

function keepTokens(tokens) {
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token;
}

function forget() {
  session.access = null;
  session.refresh = null;
  session.profile = null;
}

// --- The page ------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function say(message) {
  $("error").textContent = "";
  $("status").textContent = message;
}

function complain(message) {
  $("status").textContent = "";
  $("error").textContent = message;
}

function clearMessages() {
  $("status").textContent = "";
  $("error").textContent = "";
}

const VIEWS = ["sign-in", "second-factor", "sign-up", "recover", "account"];

function show(view) {
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  $("account-nav").hidden = view !== "account";
  const title = $(`view-${view}`).querySelector("h1");
  document.title = `${title.textContent} · User Auth Service`;
  title.tabIndex = -1;
  title.focus();
}

// Whether the next change of the fragment is the page's own: what it says
// then stays on screen.
let navigating = false;

function go(route) {
  if (location.hash === `#/${route}`) return route_();
  navigating = true;
  location.hash = `#/${route}`;
}

// The fragment's route and its parameters: `#/recover?username=a&code=1`.
function currentRoute() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: path || "sign-in", params: new URLSearchParams(query ?? "") };
}

async function route_() {
  const { name, params } = currentRoute();
  if (name !== "sign-in") stopPasskeyAutofill();
  if (name === "account") {
    if (!session.access) return go("sign-in");
    show("account");
    return loadAccount();
  }
  if (name === "second-factor" && !mfaToken) return go("sign-in");
  if (name === "recover") {
    const who = params.get("username") ?? params.get("email");
    const code = params.get("code");
    if (who) $("recover-name").value = who;
    if (code) {
      $("recover-code").value = code;
      // The code leaves the address bar and the history; it is spent only
      // when the form is sent.
      history.replaceState(null, "", "#/recover");
      say("Choose a new password to finish recovering your account.");
    }
    show("recover");
    if (code) $("recover-password").focus();
    return;
  }
  show(VIEWS.includes(name) ? name : "sign-in");
  if (!VIEWS.includes(name) || name === "sign-in") offerPasskeys();
}

// Runs a form's submission: the button is disabled meanwhile, and a failure
// is shown in words.
function onSubmit(id, handler) {
  $(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    clearMessages();
    try {
      await handler(Object.fromEntries(new FormData(form)), form);
    } catch (failure) {
      if (!(failure instanceof ApiFailure)) throw failure;
      if (failure.code === "invalid_token" && !session.access) go("sign-in");
      complain(explain(failure));
    } finally {
      button.disabled = false;
    }
  });
}

// The optional fields a form sends only when filled in.
function withCode(fields) {
  const { code, ...rest } = fields;
  return code && code.trim() ? { ...rest, code: code.trim() } : rest;
}

function nameOrEmail(value) {
  const trimmed = value.trim();
  return trimmed.includes("@") ? { email: trimmed } : { username: trimmed };
}

// --- Signing up, in and out ------------------------------------------------

async function signIn(username, password) {
  const answer = await call("POST", "/auth/login", { username, password });
  if (answer.mfa_required) {
    mfaToken = answer.mfa_token;
    $("second-factor-code").value = "";
    return go("second-factor");
  }
  keepTokens(answer);
  go("account");
}

onSubmit("sign-in-form", async ({ username, password }, form) => {
  await signIn(username.trim(), password);
  form.reset();
});

onSubmit("second-factor-form", async ({ code }) => {
  const tokens = await call("POST", "/auth/mfa/verify", { mfa_token: mfaToken, code: code.trim() });
  mfaToken = null;
  keepTokens(tokens);
  go("account");
});

onSubmit("sign-up-form", async ({ username, email, password }, form) => {
  const body = { username: username.trim(), password };
  if (email.trim()) body.email = email.trim();
  await call("POST", "/users", body);
  form.reset();
  await signIn(body.username, password);
  if (body.email) say(`Welcome. We mailed a code to ${body.email}: enter it below to verify the address.`);
  else say("Welcome. Your account is ready.");
});

$("sign-out").addEventListener("click", async () => {
  try {
    await callSignedIn("POST", "/auth/logout", { scope: "local" });
  } catch {
    // Signed out here either way; the session ends at its expiry at worst.
  }
  forget();
  go("sign-in");
  say("You are signed out.");
});

// --- Passkeys ----------------------------------------------------------------
//
// The service's options and the browser's answers travel as WebAuthn's JSON
// (PublicKeyCredential.parse*OptionsFromJSON and toJSON).

const passkeysSupported = () =>
  typeof PublicKeyCredential !== "undefined" && typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";

// WebAuthn's dictionaries take no null where a member may be absent.
function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, member]) => member !== null)
        .map(([key, member]) => [key, withoutNulls(member)]),
    );
  }
  return value;
}

let autofill = null;

function stopPasskeyAutofill() {
  autofill?.abort();
  autofill = null;
}

// Asks the service for a sign-in's options and the browser for an answer:
// in the username field's autofill (`conditional`), or at once.
async function passkeySignIn(mediation) {
  stopPasskeyAutofill();
  const controller = new AbortController();
  if (mediation === "conditional") autofill = controller;
  const started = await call("POST", "/auth/passkeys/options");
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(withoutNulls(started.options.publicKey));
  const credential = await navigator.credentials.get({ publicKey, mediation, signal: controller.signal });
  if (autofill === controller) autofill = null;
  const tokens = await call("POST", "/auth/passkeys/login", {
    ceremony: started.ceremony,
    credential: credential.toJSON(),
  });
  keepTokens(tokens);
  go("account");
}

function passkeyFailure(failure) {
  if (failure?.name === "AbortError") return;
  if (failure instanceof ApiFailure) {
    complain(failure.code === "invalid_credentials" ? "That passkey does not sign in to any account here." : explain(failure));
  } else if (failure?.name === "NotAllowedError") {
    complain("The passkey sign-in was cancelled or timed out.");
  } else {
    complain("Your browser could not use a passkey here.");
  }
}

async function offerPasskeys() {
  if (!passkeysSupported()) return;
  $("passkey-sign-in").hidden = false;
  if (autofill || !(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
  passkeySignIn("conditional").catch(passkeyFailure);
}

$("passkey-sign-in-button").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  clearMessages();
  try {
    await passkeySignIn("optional");
  } catch (failure) {
    passkeyFailure(failure);
  } finally {
    button.disabled = false;
  }
});

function showPasskeys(passkeys) {
  const list = $("passkeys-list");
  list.replaceChildren();
  const select = $("remove-passkey-id");
  select.replaceChildren();
  for (const passkey of passkeys) {
    const used = passkey.last_used_at ? `last used ${when(passkey.last_used_at)}` : "never used";
    list.append(row(passkey.name, `added ${when(passkey.created_at)}, ${used}`));
    const option = document.createElement("option");
    option.value = passkey.id;
    option.textContent = `${passkey.name} (added ${when(passkey.created_at)})`;
    select.append(option);
  }
  if (passkeys.length === 0) list.append(row("No passkey yet.", ""));
  $("remove-passkey-form").hidden = passkeys.length === 0;
  $("add-passkey-form").hidden = !passkeysSupported();
}

onSubmit("add-passkey-form", async ({ name }, form) => {
  const options = await callSignedIn("POST", "/users/me/passkeys/registration/options");
  let credential;
  try {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(withoutNulls(options.publicKey));
    credential = await navigator.credentials.create({ publicKey });
  } catch (failure) {
    const reason =
      failure?.name === "InvalidStateError" ? "This device already holds a passkey of your account." : "No passkey was made.";
    throw new ApiFailure(0, "browser", reason);
  }
  const body = { credential: credential.toJSON() };
  if (name.trim()) body.name = name.trim();
  const passkey = await callSignedIn("POST", "/users/me/passkeys/registration", body);
  form.reset();
  say(`The passkey "${passkey.name}" is added: you can sign in with it alone.`);
  await loadAccount();
});

onSubmit("remove-passkey-form", async ({ id, ...fields }, form) => {
  await callSignedIn("DELETE", `/users/me/passkeys/${encodeURIComponent(id)}`, withCode(fields));
  form.reset();
  say("The passkey is removed.");
  await loadAccount();
});

// --- Recovery --------------------------------------------------------------

onSubmit("recover-start-form", async ({ name }) => {
  const answer = await call("POST", "/auth/recovery", nameOrEmail(name));
  $("recover-name").value = name.trim();
  say(answer.message);
  $("recover-code").focus();
});

onSubmit("recover-confirm-form", async ({ name, code, new_password }, form) => {
  await call("POST", "/auth/recovery/confirm", { ...nameOrEmail(name), code: code.trim(), new_password });
  form.reset();
  go("sign-in");
  if (!name.includes("@")) $("sign-in-username").value = name.trim();
  say("Your password is changed. Sign in with the new one.");
});

// --- The account -------------------------------------------------------------

async function loadAccount() {
  const [profile, sessions, activity, passkeys] = await Promise.all([
    callSignedIn("GET", "/users/me"),
    callSignedIn("GET", "/auth/sessions"),
    callSignedIn("GET", "/users/me/activity?limit=10"),
    callSignedIn("GET", "/users/me/passkeys"),
  ]).catch((failure) => {
    if (!session.access) go("sign-in");
    complain(explain(failure));
    return [null, null, null, null];
  });
  if (!profile) return;
  session.profile = profile;
  showProfile(profile);
  showSessions(sessions.sessions);
  showActivity(activity.events);
  showPasskeys(passkeys.passkeys);
}

const when = (iso) => new Date(iso).toLocaleString();

function showProfile(profile) {
  $("profile-username").textContent = profile.username;
  $("profile-email").textContent = profile.email
    ? `${profile.email} (${profile.email_verified ? "verified" : "not verified"})`
    : "none";
  $("profile-created").textContent = when(profile.created_at);
  $("profile-mfa").textContent = profile.mfa.totp ? "authenticator app" : "none";
  $("verify-email-form").hidden = !profile.email || profile.email_verified;
  $("totp-on").hidden = !profile.mfa.totp;
  $("totp-off").hidden = profile.mfa.totp;
  $("recovery-codes-left").textContent = String(profile.mfa.recovery_codes_left);
  for (const stepUp of document.querySelectorAll(".step-up")) stepUp.hidden = !profile.mfa.totp;
}

function row(what, whenText) {
  const item = document.createElement("li");
  const text = document.createElement("span");
  text.className = "what";
  text.textContent = what;
  const time = document.createElement("span");
  time.className = "when";
  time.textContent = whenText;
  item.append(text, time);
  return item;
}

function showSessions(sessions) {
  const list = $("sessions-list");
  list.replaceChildren();
  for (const each of sessions) {
    const device = each.user_agent || "an unknown device";
    const item = row(
      `${device}${each.current ? " (this session)" : ""}`,
      `since ${when(each.created_at)}, last active ${when(each.last_refreshed_at)}`,
    );
    if (!each.current) {
      const end = document.createElement("button");
      end.type = "button";
      end.className = "danger";
      end.textContent = "End";
      end.setAttribute("aria-label", `End the session of ${device} since ${when(each.created_at)}`);
      end.dataset.sessionId = each.id;
      end.addEventListener("click", async () => {
        end.disabled = true;
        clearMessages();
        try {
          await callSignedIn("DELETE", `/auth/sessions/${encodeURIComponent(each.id)}`);
          say("The session is ended.");
          showSessions((await callSignedIn("GET", "/auth/sessions")).sessions);
        } catch (failure) {
          end.disabled = false;
          complain(explain(failure));
        }
      });
      item.append(end);
    }
    list.append(item);
  }
}

const EVENT_NAMES = {
  signed_up: "Signed up",
  login_succeeded: "Signed in",
  login_failed: "Failed sign-in",
  locked: "Sign-ins locked after failures",
  second_factor_required: "Password right, second factor asked",
  second_factor_failed: "Wrong second-factor code",
  session_refreshed: "Session refreshed",
  refresh_token_reused: "A used refresh token was presented: session ended",
  session_revoked: "Session ended",
  logged_out: "Signed out",
  password_changed: "Password changed",
  password_reset: "Password reset by mail",
  email_added: "Address added",
  email_verified: "Address verified",
  email_changed: "Address changed",
  second_factor_enabled: "Second factor turned on",
  second_factor_disabled: "Second factor turned off",
  recovery_code_used: "Recovery code used",
  recovery_codes_replaced: "New recovery codes made",
  account_disabled: "Account disabled by an operator",
  account_enabled: "Account enabled by an operator",
  signed_out_by_operator: "Signed out by an operator",
  account_deleted: "Account deleted",
  passkey_added: "Passkey added",
  passkey_removed: "Passkey removed",
};

function showActivity(events) {
  const list = $("activity-list");
  list.replaceChildren();
  for (const event of events) {
    const from = event.source_ip ? ` from ${event.source_ip}` : "";
    const how = event.type === "login_succeeded" && event.detail === "passkey" ? " with a passkey" : "";
    list.append(row(`${EVENT_NAMES[event.type] ?? event.type}${how}${from}`, when(event.at)));
  }
  if (events.length === 0) list.append(row("Nothing yet.", ""));
}

onSubmit("verify-email-form", async ({ code }, form) => {
  await callSignedIn("POST", "/users/me/email/verify", { code: code.trim() });
  form.reset();
  say("Your address is verified.");
  await loadAccount();
});

onSubmit("change-email-form", async (fields, form) => {
  const profile = await callSignedIn("PUT", "/users/me/email", withCode(fields));
  form.reset();
  form.closest("details").open = false;
  say(`We mailed a code to ${profile.email}: enter it to verify the address.`);
  await loadAccount();
});

onSubmit("change-password-form", async (fields, form) => {
  await callSignedIn("POST", "/users/me/password", withCode(fields));
  form.reset();
  say("Your password is changed, and your other sessions are ended.");
  await loadAccount();
});

function showRecoveryCodes(codes) {
  const list = $("recovery-codes-list");
  list.replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  $("recovery-codes").hidden = false;
}

onSubmit("enrol-totp-form", async ({ password }, form) => {
  const enrolment = await callSignedIn("POST", "/users/me/mfa/totp", { password });
  form.reset();
  $("totp-secret").textContent = enrolment.secret;
  // An image, not inline markup: nothing in the SVG can run.
  $("totp-qr").src = `data:image/svg+xml;base64,${btoa(enrolment.qr_svg)}`;
  $("totp-pending").hidden = false;
  $("confirm-totp-code").focus();
});

onSubmit("confirm-totp-form", async ({ code }, form) => {
  const answer = await callSignedIn("POST", "/users/me/mfa/totp/confirm", { code: code.trim() });
  form.reset();
  $("totp-pending").hidden = true;
  $("totp-secret").textContent = "";
  $("totp-qr").removeAttribute("src");
  await loadAccount();
  showRecoveryCodes(answer.recovery_codes);
  say("The authenticator app is on. Keep your recovery codes.");
});

onSubmit("new-recovery-codes-form", async ({ code }, form) => {
  const answer = await callSignedIn("POST", "/users/me/mfa/recovery-codes", { code: code.trim() });
  form.reset();
  await loadAccount();
  showRecoveryCodes(answer.recovery_codes);
  say("New recovery codes are made; the old ones no longer work.");
});

onSubmit("remove-totp-form", async ({ password, code }, form) => {
  await callSignedIn("DELETE", "/users/me/mfa/totp", { password, code: code.trim() });
  form.reset();
  $("recovery-codes").hidden = true;
  say("The second factor is off.");
  await loadAccount();
});

onSubmit("delete-account-form", async (fields, form) => {
  await callSignedIn("DELETE", "/users/me", withCode(fields));
  form.reset();
  forget();
  go("sign-in");
  say("Your account is deleted.");
});

window.addEventListener("hashchange", () => {
  if (!navigating) clearMessages();
  navigating = false;
  route_();
});
route_();
