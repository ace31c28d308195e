//! Passkeys: registering one (options, then the browser's credential),
//! listing and removing them, and signing in with one (options without a
//! username, then the browser's assertion). The ceremonies' states live in
//! the store, each consumed by the one answer it waits for.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

use crate::domain::{ActivityEvent, ActivityType, Ceremony, CeremonyKey, Client, PasskeyName, PasskeyRecord};
use crate::domain::{PasskeyView, SessionId, SignIn, MAX_PASSKEYS_PER_USER};
use crate::passkeys::{PasskeyError, RelyingParty};
use crate::passwords::PasswordHasher;
use crate::store::{ActivityStore, CredentialStore, LoginAttemptStore, PasskeyStore, SecondFactorStore};
use crate::store::{SessionStore, UserStore};
use crate::tokens::TokenIssuer;
use crate::ApiError;

use super::login::{end_beyond_cap, sessions_beyond_cap, start_session, SessionStart};
use super::{check_password_and_factor, record, Caller, FactorProof, IssuedSession, LoginPolicy};

/// A ceremony's failure as an answer: a refusal is the caller's, logged
/// with webauthn-rs's reason; an unreadable state is a defect.
fn refused(err: PasskeyError, answer: ApiError) -> ApiError {
    match err {
        PasskeyError::Refused(reason) => {
            tracing::warn!(reason, "passkey ceremony refused");
            answer
        }
        PasskeyError::Corrupt(reason) => ApiError::internal(reason),
    }
}

/// Starts the registration of a passkey for the caller: the options the
/// browser's `navigator.credentials.create` takes. The ceremony's state is
/// kept 5 minutes, over any registration the caller started before.
pub async fn start_passkey_registration<S>(
    store: &S,
    party: &RelyingParty,
    now: u64,
    caller: &Caller,
) -> Result<Value, ApiError>
where
    S: PasskeyStore,
{
    let user = &caller.user;
    let existing = store.passkeys(&user.id).await?;
    if existing.len() >= MAX_PASSKEYS_PER_USER {
        return Err(ApiError::TooManyPasskeys { limit: MAX_PASSKEYS_PER_USER });
    }
    let started = party
        .start_registration(&user.id, user.username.as_str(), &existing)
        .map_err(|err| refused(err, ApiError::InvalidPasskey))?;
    store.put_ceremony(&Ceremony::new(CeremonyKey::Registration(user.id.clone()), started.state, now)).await?;
    Ok(started.options)
}

/// Registers the browser's new credential under `name`, once webauthn-rs
/// has checked it against the caller's ceremony, which it consumes.
pub async fn finish_passkey_registration<S>(
    store: &S,
    party: &RelyingParty,
    now: u64,
    caller: &Caller,
    name: Option<&str>,
    credential: &Value,
) -> Result<PasskeyView, ApiError>
where
    S: PasskeyStore + ActivityStore,
{
    let user = &caller.user;
    let name = PasskeyName::parse(name).map_err(|_| ApiError::InvalidRequest(PASSKEY_NAME_RULE))?;
    let Some(state) = store.take_ceremony(&CeremonyKey::Registration(user.id.clone()), now).await? else {
        tracing::info!(user_id = %user.id, "passkey registration without a ceremony in time");
        return Err(ApiError::InvalidPasskey);
    };
    let registered =
        party.finish_registration(&state, credential).map_err(|err| refused(err, ApiError::InvalidPasskey))?;
    if store.passkeys(&user.id).await?.len() >= MAX_PASSKEYS_PER_USER {
        return Err(ApiError::TooManyPasskeys { limit: MAX_PASSKEYS_PER_USER });
    }
    let record = PasskeyRecord {
        user_id: user.id.clone(),
        id: registered.id,
        name,
        created_at: now,
        last_used_at: None,
        credential: registered.credential,
    };
    if !store.add_passkey(&record).await? {
        tracing::info!(user_id = %user.id, "passkey registered twice");
        return Err(ApiError::InvalidPasskey);
    }
    super::record(store, caller.event(ActivityType::PasskeyAdded).detail(record.name.as_str())).await;
    tracing::info!(user_id = %user.id, passkey_id = record.id, "passkey registered");
    Ok(PasskeyView::from(&record))
}

const PASSKEY_NAME_RULE: &str = "\"name\", when given, has 1 to 64 characters and no control character";

/// The caller's passkeys, oldest first.
pub async fn list_passkeys<S: PasskeyStore>(store: &S, caller: &Caller) -> Result<Vec<PasskeyView>, ApiError> {
    Ok(store.passkeys(&caller.user.id).await?.iter().map(PasskeyView::from).collect())
}

/// A request to remove a passkey: which, the password, and the address it
/// comes from (for the lockout). Its `Debug` output redacts the password.
#[derive(Debug)]
pub struct PasskeyRemoval {
    pub passkey_id: String,
    pub password: SecretString,
    pub source_ip: String,
}

/// Removes one of the caller's passkeys, once the password (and a code of
/// the second factor, when one is on) is checked as at login
/// ([`check_password_and_factor`]): a stolen session alone cannot take a
/// passkey away, nor leave the account with the thief's.
pub async fn remove_passkey<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    now: u64,
    caller: &Caller,
    removal: PasskeyRemoval,
    proof: FactorProof<'_>,
) -> Result<(), ApiError>
where
    S: PasskeyStore + CredentialStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let PasskeyRemoval { passkey_id, password, source_ip } = removal;
    let passkey_id = passkey_id.as_str();
    let user = &caller.user;
    check_password_and_factor(store, passwords, now, caller, &source_ip, password, proof).await?;
    if !store.remove_passkey(&user.id, passkey_id).await? {
        return Err(ApiError::NotFound);
    }
    record(store, caller.event(ActivityType::PasskeyRemoved).detail(passkey_id)).await;
    tracing::info!(user_id = %user.id, passkey_id, "passkey removed");
    Ok(())
}

/// What a sign-in's options answer, as its response body: the ceremony to
/// name in the answer, and the options for `navigator.credentials.get`
/// (`publicKey`, `mediation`).
#[derive(Debug, Serialize)]
pub struct PasskeySignInStart {
    pub ceremony: String,
    pub options: Value,
}

/// Starts a sign-in with any passkey of this relying party: no username,
/// so the browser can offer its passkeys in its autofill. The state is kept
/// 5 minutes under a random id.
pub async fn start_passkey_sign_in<S: PasskeyStore>(
    store: &S,
    party: &RelyingParty,
    now: u64,
) -> Result<PasskeySignInStart, ApiError> {
    let mut id = [0u8; 32];
    SystemRandom::new().fill(&mut id).map_err(|_| ApiError::internal("no randomness for a ceremony id"))?;
    let ceremony = URL_SAFE_NO_PAD.encode(id);
    let started = party.start_sign_in().map_err(|err| refused(err, ApiError::InvalidCredentials))?;
    store.put_ceremony(&Ceremony::new(CeremonyKey::SignIn(ceremony.clone()), started.state, now)).await?;
    Ok(PasskeySignInStart { ceremony, options: started.options })
}

/// A browser's answer to a sign-in's options, and who sends it.
#[derive(Debug)]
pub struct PasskeySignIn {
    pub ceremony: String,
    pub credential: Value,
    pub client: Client,
}

/// Signs in with a passkey: the ceremony is consumed, webauthn-rs checks
/// the answer against it and the passkey it names (challenge, origin, user
/// verification, signature, sign counter), and a session starts as a
/// login's does, its tokens' `amr` `["hwk", "user"]`. Every refusal is
/// 401 `invalid_credentials`, its reason logged; a disabled account's is
/// 403 `account_disabled`, once the passkey is proven. No password is
/// involved, so the password lockout counts nothing here: a passkey cannot
/// be guessed, and a name locked by password guesses still signs in with
/// its passkey.
pub async fn passkey_sign_in<S>(
    store: &S,
    party: &RelyingParty,
    issuer: &TokenIssuer,
    policy: LoginPolicy,
    now: u64,
    attempt: PasskeySignIn,
) -> Result<IssuedSession, ApiError>
where
    S: PasskeyStore + UserStore + CredentialStore + SessionStore + ActivityStore,
{
    let PasskeySignIn { ceremony, credential, client } = attempt;
    let Some(state) = store.take_ceremony(&CeremonyKey::SignIn(ceremony), now).await? else {
        tracing::info!("passkey sign-in without a ceremony in time");
        return Err(ApiError::InvalidCredentials);
    };
    let claimed = party.identify(&credential).map_err(|err| refused(err, ApiError::InvalidCredentials))?;
    let (passkey, user) =
        tokio::try_join!(store.passkey(&claimed.user_id, &claimed.passkey_id), store.get_user(&claimed.user_id))?;
    let (Some(passkey), Some(user)) = (passkey, user) else {
        tracing::info!(user_id = %claimed.user_id, "passkey sign-in with a passkey no account holds");
        return Err(ApiError::InvalidCredentials);
    };
    let event = |kind| ActivityEvent::new(&user.id, kind).from(&client).detail("passkey");
    let verified = match party.finish_sign_in(&state, &credential, &passkey) {
        Ok(verified) => verified,
        Err(err) => {
            record(store, event(ActivityType::LoginFailed)).await;
            return Err(refused(err, ApiError::InvalidCredentials));
        }
    };
    if user.disabled.is_some() {
        record(store, event(ActivityType::LoginFailed).detail("account_disabled")).await;
        tracing::info!(user_id = %user.id, "passkey sign-in refused: the account is disabled");
        return Err(ApiError::AccountDisabled);
    }
    let (credentials, beyond_cap) = tokio::join!(
        store.credentials(&user.username),
        sessions_beyond_cap(store, Some(user.id.clone()), policy.max_sessions)
    );
    let Some(credentials) = credentials?.filter(|found| found.user_id == user.id) else {
        return Err(ApiError::InvalidCredentials);
    };
    let session_id = SessionId::new_random();
    let start = SessionStart {
        username: &user.username,
        checked: &credentials,
        client: client.clone(),
        id: session_id.clone(),
        sign_in: SignIn::Passkey,
    };
    let used = store.passkey_used(&user.id, &passkey.id, now, verified.updated_credential.as_deref());
    let succeeded = event(ActivityType::LoginSucceeded).in_session(&session_id);
    let (issued, ended, used, ()) = tokio::join!(
        start_session(store, issuer, policy.lifetime, now, start),
        end_beyond_cap(store, &user.id, beyond_cap),
        used,
        record(store, succeeded.clone()),
    );
    if let Err(err) = ended {
        tracing::warn!(error = %err, user_id = %user.id, "sessions beyond the cap were not ended");
    }
    if let Err(err) = used {
        tracing::warn!(error = %err, user_id = %user.id, "a passkey's use was not recorded");
    }
    let issued = match issued {
        Ok(issued) => issued,
        Err(err) => {
            record(store, succeeded.turned_into(ActivityType::LoginFailed).detail("session_not_started")).await;
            return Err(err);
        }
    };
    tracing::info!(user_id = %user.id, passkey_id = passkey.id, backed_up = verified.backed_up, "passkey sign-in");
    Ok(issued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActivityType, CEREMONY_LIFETIME_SECONDS};
    use crate::operations::{authenticate, operator};
    use crate::passwords::Argon2id;
    use crate::store::memory::MemoryStore;
    use crate::store::{AccountStore, UserStore};
    use crate::test_support::{
        factor_keys, now, relying_party, SignedIn, TestAuthenticator, LOGIN, PASSWORD, TEST_ORIGIN,
    };

    async fn caller(alice: &SignedIn) -> Caller {
        authenticate(&alice.store, &alice.keys.verifier(), now(), &alice.access_token).await.unwrap()
    }

    /// Registers a passkey of alice's with `authenticator`, named `name`.
    async fn register(alice: &SignedIn, authenticator: &mut TestAuthenticator, name: &str) -> PasskeyView {
        let (party, caller) = (relying_party(), caller(alice).await);
        let options = start_passkey_registration(&alice.store, &party, now(), &caller).await.unwrap();
        assert_eq!(options["publicKey"]["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(options["publicKey"]["authenticatorSelection"]["userVerification"], "required");
        let credential = authenticator.register(&options).unwrap();
        finish_passkey_registration(&alice.store, &party, now(), &caller, Some(name), &credential).await.unwrap()
    }

    async fn sign_in(
        store: &MemoryStore,
        keys: &SignedIn,
        authenticator: &mut TestAuthenticator,
    ) -> Result<IssuedSession, ApiError> {
        let party = relying_party();
        let started = start_passkey_sign_in(store, &party, now()).await?;
        assert_eq!(started.options["mediation"], "conditional");
        let credential = authenticator.sign_in(&started.options).unwrap();
        let attempt = PasskeySignIn { ceremony: started.ceremony, credential, client: Client::default() };
        passkey_sign_in(store, &party, &keys.keys.issuer(), LOGIN, now(), attempt).await
    }

    #[tokio::test]
    async fn a_registered_passkey_signs_in_alone_with_hwk_and_user() {
        let alice = SignedIn::new("alice").await;
        let mut phone = TestAuthenticator::new(TEST_ORIGIN);
        let view = register(&alice, &mut phone, "Phone").await;
        assert_eq!(view.name, "Phone");
        assert!(view.last_used_at.is_none());
        let issued = sign_in(&alice.store, &alice, &mut phone).await.unwrap();
        let caller =
            authenticate(&alice.store, &alice.keys.verifier(), now(), &issued.access.access_token).await.unwrap();
        assert_eq!(caller.user.id, alice.user_id);
        assert_eq!(caller.sign_in, SignIn::Passkey);
        assert_eq!(caller.sign_in.amr(), ["hwk", "user"]);
        let listed = list_passkeys(&alice.store, &caller).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used_at.is_some(), "the sign-in is recorded on the passkey");
        let kinds: Vec<_> = alice.store.events_of(&alice.user_id).iter().map(|e| (e.kind, e.detail.clone())).collect();
        assert!(kinds.contains(&(ActivityType::PasskeyAdded, Some("Phone".into()))), "{kinds:?}");
        assert!(kinds.contains(&(ActivityType::LoginSucceeded, Some("passkey".into()))), "{kinds:?}");
    }

    #[tokio::test]
    async fn a_ceremony_is_answered_once_and_in_time() {
        let alice = SignedIn::new("alice").await;
        let mut phone = TestAuthenticator::new(TEST_ORIGIN);
        register(&alice, &mut phone, "Phone").await;
        let party = relying_party();
        let issuer = alice.keys.issuer();
        let started = start_passkey_sign_in(&alice.store, &party, now()).await.unwrap();
        let credential = phone.sign_in(&started.options).unwrap();
        let attempt = |at: u64| {
            let attempt = PasskeySignIn {
                ceremony: started.ceremony.clone(),
                credential: credential.clone(),
                client: Client::default(),
            };
            passkey_sign_in(&alice.store, &party, &issuer, LOGIN, at, attempt)
        };
        attempt(now()).await.unwrap();
        let replayed = attempt(now()).await.unwrap_err();
        assert_eq!(replayed.code(), "invalid_credentials", "the same answer twice");
        // A ceremony answered after its five minutes.
        let late = start_passkey_sign_in(&alice.store, &party, now()).await.unwrap();
        let credential = phone.sign_in(&late.options).unwrap();
        let attempt = PasskeySignIn { ceremony: late.ceremony, credential, client: Client::default() };
        let at = now() + CEREMONY_LIFETIME_SECONDS;
        let err = passkey_sign_in(&alice.store, &party, &alice.keys.issuer(), LOGIN, at, attempt).await.unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
    }

    #[tokio::test]
    async fn a_sign_counter_that_goes_back_is_refused() {
        let alice = SignedIn::new("alice").await;
        let mut phone = TestAuthenticator::new(TEST_ORIGIN);
        register(&alice, &mut phone, "Phone").await;
        let party = relying_party();
        // Two answers, the first made with the lower counter, sent last.
        let (first, second) = (
            start_passkey_sign_in(&alice.store, &party, now()).await.unwrap(),
            start_passkey_sign_in(&alice.store, &party, now()).await.unwrap(),
        );
        let (earlier, later) = (phone.sign_in(&first.options).unwrap(), phone.sign_in(&second.options).unwrap());
        let issuer = alice.keys.issuer();
        let send = |ceremony: String, credential: Value| {
            passkey_sign_in(
                &alice.store,
                &party,
                &issuer,
                LOGIN,
                now(),
                PasskeySignIn { ceremony, credential, client: Client::default() },
            )
        };
        // In the order they were made, two answers both pass.
        let (third, fourth) = (
            start_passkey_sign_in(&alice.store, &party, now()).await.unwrap(),
            start_passkey_sign_in(&alice.store, &party, now()).await.unwrap(),
        );
        let (next, last) = (phone.sign_in(&third.options).unwrap(), phone.sign_in(&fourth.options).unwrap());
        send(second.ceremony, later).await.unwrap();
        send(third.ceremony, next).await.unwrap();
        send(fourth.ceremony, last).await.unwrap();
        let err = send(first.ceremony, earlier).await.unwrap_err();
        assert_eq!(err.code(), "invalid_credentials", "a cloned authenticator's answer");
    }

    #[tokio::test]
    async fn another_origin_or_a_forged_user_handle_signs_nothing_in() {
        let alice = SignedIn::new("alice").await;
        let bob = alice.another_user("bob").await;
        let mut phone = TestAuthenticator::new(TEST_ORIGIN);
        register(&alice, &mut phone, "Phone").await;
        // A phishing page's origin: the browser signs for it, the service refuses.
        let mut phished = TestAuthenticator::new("http://localhost:9999");
        let party = relying_party();
        let caller = caller(&bob).await;
        let options = start_passkey_registration(&bob.store, &party, now(), &caller).await.unwrap();
        let credential = phished.register(&options).unwrap();
        let err = finish_passkey_registration(&bob.store, &party, now(), &caller, None, &credential).await.unwrap_err();
        assert_eq!(err.code(), "invalid_passkey");
        // Alice's answer presented as bob's: bob holds no such passkey.
        let started = start_passkey_sign_in(&alice.store, &party, now()).await.unwrap();
        let mut credential = phone.sign_in(&started.options).unwrap();
        let bob_handle = uuid::Uuid::parse_str(bob.user_id.as_str()).unwrap();
        credential["response"]["userHandle"] = URL_SAFE_NO_PAD.encode(bob_handle.as_bytes()).into();
        let attempt = PasskeySignIn { ceremony: started.ceremony, credential, client: Client::default() };
        let err = passkey_sign_in(&alice.store, &party, &alice.keys.issuer(), LOGIN, now(), attempt).await.unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
    }

    #[tokio::test]
    async fn a_deleted_or_disabled_account_does_not_sign_in_with_its_passkey() {
        let alice = SignedIn::new("alice").await;
        let mut phone = TestAuthenticator::new(TEST_ORIGIN);
        register(&alice, &mut phone, "Phone").await;
        let operator = operator::Operator("ops".into());
        operator::disable_account(&alice.store, now(), &operator, alice.user_id.as_str(), "stolen").await.unwrap();
        let err = sign_in(&alice.store, &alice, &mut phone).await.unwrap_err();
        assert_eq!(err.code(), "account_disabled");
        operator::enable_account(&alice.store, &operator, alice.user_id.as_str()).await.unwrap();
        sign_in(&alice.store, &alice, &mut phone).await.unwrap();
        let user = alice.store.get_user(&alice.user_id).await.unwrap().unwrap();
        assert!(alice.store.delete_account(&user).await.unwrap());
        assert!(alice.store.passkeys(&alice.user_id).await.unwrap().is_empty(), "the passkeys go with the account");
        let err = sign_in(&alice.store, &alice, &mut phone).await.unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
    }

    #[tokio::test]
    async fn removing_a_passkey_asks_the_password_again() {
        let alice = SignedIn::new("alice").await;
        let mut phone = TestAuthenticator::new(TEST_ORIGIN);
        let view = register(&alice, &mut phone, "Phone").await;
        let caller = caller(&alice).await;
        let keys = factor_keys();
        let removal = |password: &str| PasskeyRemoval {
            passkey_id: view.id.clone(),
            password: password.to_owned().into(),
            source_ip: "203.0.113.10".into(),
        };
        let proof = || FactorProof { keys: &keys, code: None };
        let err = remove_passkey(&alice.store, &Argon2id, now(), &caller, removal("wrong password entirely"), proof())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
        remove_passkey(&alice.store, &Argon2id, now(), &caller, removal(PASSWORD), proof()).await.unwrap();
        assert!(list_passkeys(&alice.store, &caller).await.unwrap().is_empty());
        let again = remove_passkey(&alice.store, &Argon2id, now(), &caller, removal(PASSWORD), proof()).await;
        assert_eq!(again.unwrap_err().code(), "not_found");
        let err = sign_in(&alice.store, &alice, &mut phone).await.unwrap_err();
        assert_eq!(err.code(), "invalid_credentials", "a removed passkey signs nothing in");
    }

    #[tokio::test]
    async fn a_registration_needs_its_own_ceremony_and_a_good_name() {
        let alice = SignedIn::new("alice").await;
        let bob = alice.another_user("bob").await;
        let mut phone = TestAuthenticator::new(TEST_ORIGIN);
        let party = relying_party();
        let (alice_caller, bob_caller) = (caller(&alice).await, caller(&bob).await);
        let options = start_passkey_registration(&alice.store, &party, now(), &alice_caller).await.unwrap();
        let credential = phone.register(&options).unwrap();
        // Bob has no ceremony: alice's answer is nothing to him.
        let err =
            finish_passkey_registration(&bob.store, &party, now(), &bob_caller, None, &credential).await.unwrap_err();
        assert_eq!(err.code(), "invalid_passkey");
        let bad_name = finish_passkey_registration(&alice.store, &party, now(), &alice_caller, Some(""), &credential);
        assert_eq!(bad_name.await.unwrap_err().code(), "invalid_request");
        let view =
            finish_passkey_registration(&alice.store, &party, now(), &alice_caller, None, &credential).await.unwrap();
        assert_eq!(view.name, "Passkey");
        let twice = finish_passkey_registration(&alice.store, &party, now(), &alice_caller, None, &credential).await;
        assert_eq!(twice.unwrap_err().code(), "invalid_passkey", "the ceremony is spent");
    }
}
