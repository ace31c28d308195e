//! The WebAuthn relying party: the ceremonies of passkeys, checked by
//! webauthn-rs (the kanidm project's), never by hand. Options go to the
//! browser as JSON, its answers come back as JSON, and every state between
//! them is webauthn-rs's own, serialised, kept server-side by the caller.
//!
//! Passkeys here are discoverable (resident) credentials with user
//! verification required: the browser offers them without a username
//! (conditional mediation, its autofill), and one proves both what the
//! person has and that they unlocked it, so a passkey alone signs in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url,
    Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::domain::{PasskeyRecord, UserId};

/// Why a ceremony did not succeed: the answer is not one of this relying
/// party's ceremonies, or the service could not run one.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The browser's answer is malformed, or webauthn-rs refused it (a
    /// wrong origin or challenge, a bad signature, a sign counter that went
    /// back): its reason is logged, never answered.
    #[error("the passkey ceremony was refused: {0}")]
    Refused(String),
    /// A state or a stored credential that does not decode: a defect.
    #[error("passkey state unreadable: {0}")]
    Corrupt(String),
}

/// The relying party: its id (a domain) and the one origin its pages are at.
pub struct RelyingParty {
    webauthn: Webauthn,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty").field("origins", &self.webauthn.get_allowed_origins()).finish()
    }
}

/// What a registration answers the browser, and the state to keep until it answers.
pub struct Started {
    pub options: Value,
    pub state: String,
}

/// A passkey just registered: its id and what to store of it.
pub struct Registered {
    pub id: String,
    pub credential: String,
}

/// The user and passkey a sign-in's answer names: to be checked yet.
pub struct Claimed {
    pub user_id: UserId,
    pub passkey_id: String,
}

/// What a sign-in proved: the passkey's credential to store back when its
/// sign counter or backup state moved.
pub struct Verified {
    pub updated_credential: Option<String>,
    pub backed_up: bool,
}

impl RelyingParty {
    /// `rp_id`, a domain, must be `origin`'s host or a parent of it (WebAuthn's
    /// rule); `origin` is HTTPS but for `http://localhost`.
    pub fn new(rp_id: &str, origin: &str) -> Result<Self, String> {
        let origin = Url::parse(origin).map_err(|err| format!("not a URL: {err}"))?;
        let local = origin.scheme() == "http" && origin.host_str() == Some("localhost");
        if origin.scheme() != "https" && !local {
            return Err("must be https:// (http:// only for localhost)".into());
        }
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .and_then(|builder| builder.rp_name("User Auth Service").build())
            .map_err(|err| format!("{rp_id} is not a domain of {origin}: {err}"))?;
        Ok(RelyingParty { webauthn })
    }

    /// Options for the browser to make a discoverable passkey of `user`
    /// (`existing` excluded: an authenticator that holds one of them makes
    /// none), and the state to keep for [`Self::finish_registration`].
    pub fn start_registration(
        &self,
        user_id: &UserId,
        username: &str,
        existing: &[PasskeyRecord],
    ) -> Result<Started, PasskeyError> {
        let handle = user_handle(user_id)?;
        let exclude: Vec<_> = existing.iter().filter_map(|record| URL_SAFE_NO_PAD.decode(&record.id).ok()).collect();
        let exclude = (!exclude.is_empty()).then_some(exclude);
        let (options, state) = self
            .webauthn
            .start_passkey_registration(handle, username, username, exclude)
            .map_err(|err| PasskeyError::Corrupt(format!("cannot start a registration: {err}")))?;
        let mut options = serde_json::to_value(options).map_err(corrupt)?;
        // webauthn-rs asks for a resident key only "discouraged": a passkey
        // that signs in without a username must be discoverable.
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
        Ok(Started { options, state: serde_json::to_string(&state).map_err(corrupt)? })
    }

    /// Checks the browser's new credential against the registration's state.
    pub fn finish_registration(&self, state: &str, answer: &Value) -> Result<Registered, PasskeyError> {
        let state: PasskeyRegistration = serde_json::from_str(state).map_err(corrupt)?;
        let answer: RegisterPublicKeyCredential = serde_json::from_value(answer.clone()).map_err(malformed)?;
        let passkey = self.webauthn.finish_passkey_registration(&answer, &state).map_err(refused)?;
        Ok(Registered {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice()),
            credential: serde_json::to_string(&passkey).map_err(corrupt)?,
        })
    }

    /// Options for the browser to offer any passkey of this relying party
    /// (conditional mediation), and the state to keep.
    pub fn start_sign_in(&self) -> Result<Started, PasskeyError> {
        let (options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|err| PasskeyError::Corrupt(format!("cannot start a sign-in: {err}")))?;
        Ok(Started {
            options: serde_json::to_value(options).map_err(corrupt)?,
            state: serde_json::to_string(&state).map_err(corrupt)?,
        })
    }

    /// The user and passkey a sign-in's answer names, before it is checked.
    pub fn identify(&self, answer: &Value) -> Result<Claimed, PasskeyError> {
        let answer: PublicKeyCredential = serde_json::from_value(answer.clone()).map_err(malformed)?;
        let (handle, id) = self.webauthn.identify_discoverable_authentication(&answer).map_err(refused)?;
        let user_id = UserId::parse(&handle.hyphenated().to_string())
            .ok_or_else(|| PasskeyError::Refused("the user handle is no user id".into()))?;
        Ok(Claimed { user_id, passkey_id: URL_SAFE_NO_PAD.encode(id) })
    }

    /// Checks a sign-in's answer against its state and the passkey it
    /// names: the challenge, the origin, user verification, the signature,
    /// and that the sign counter moved on.
    pub fn finish_sign_in(
        &self,
        state: &str,
        answer: &Value,
        record: &PasskeyRecord,
    ) -> Result<Verified, PasskeyError> {
        let state: DiscoverableAuthentication = serde_json::from_str(state).map_err(corrupt)?;
        let answer: PublicKeyCredential = serde_json::from_value(answer.clone()).map_err(malformed)?;
        let mut passkey: Passkey = serde_json::from_str(&record.credential).map_err(corrupt)?;
        let result = self.webauthn.finish_discoverable_authentication_v2(&answer, state, &passkey).map_err(refused)?;
        let updated = passkey.update_credential(&result) == Some(true);
        Ok(Verified {
            updated_credential: updated.then(|| serde_json::to_string(&passkey)).transpose().map_err(corrupt)?,
            backed_up: result.backup_state(),
        })
    }
}

/// The user handle a passkey of `user_id` carries: the user id's 16 bytes,
/// no name or address.
fn user_handle(user_id: &UserId) -> Result<Uuid, PasskeyError> {
    Uuid::parse_str(user_id.as_str()).map_err(corrupt)
}

fn corrupt(err: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Corrupt(err.to_string())
}

fn malformed(err: serde_json::Error) -> PasskeyError {
    PasskeyError::Refused(format!("the browser's answer does not decode: {err}"))
}

/// webauthn-rs's reason, named: a sign counter that went back
/// (`CredentialPossibleCompromise`) or a backup state that changed when it
/// cannot among them.
fn refused(err: WebauthnError) -> PasskeyError {
    PasskeyError::Refused(format!("{err:?}"))
}
