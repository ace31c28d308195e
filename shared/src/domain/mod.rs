//! The validated values of the domain. Raw input becomes one of these types
//! through `parse`, and nothing else gets past the edge of the service. A
//! refusal is the type's own error, which knows nothing of HTTP.

mod activity;
mod email;
mod id;
mod login_attempts;
mod one_time_code;
mod passkey;
mod password;
mod second_factor;
mod session;
mod user;
mod username;

pub use activity::{
    page_limit, ActivityEvent, ActivityEventView, ActivityPage, ActivityQueryError, ActivityType, CursorKey,
    MAX_ACTIVITY_PAGE,
};
pub use email::{EmailAddress, EmailError, UserEmail, EMAIL_MAX_LENGTH};
pub use login_attempts::{AddressAttempts, AddressClaim, AddressRecord, NameAttempts, NameClaim, NameRecord, Standing};
pub use one_time_code::{
    CodeCheck, CodeHasher, CodePurpose, CodeRandomnessError, OneTimeCode, PendingCode, CODE_DIGITS,
    CODE_LIFETIME_SECONDS, CODE_TRIES,
};
pub use passkey::{
    Ceremony, CeremonyKey, PasskeyName, PasskeyNameError, PasskeyRecord, PasskeyView, CEREMONY_LIFETIME_SECONDS,
    DEFAULT_PASSKEY_NAME, MAX_PASSKEYS_PER_USER, PASSKEY_NAME_MAX_LENGTH,
};
pub use password::{normalized, Password, PasswordError, PASSWORD_MAX_LENGTH};
pub use second_factor::{
    ActiveTotp, FactorCode, FactorKeys, FactorUse, PendingSignIn, RecoveryCode, SealedSecret, SecondFactor,
    SecondFactorToken, SignIn, TotpCode, TotpSecret, RECOVERY_CODE_COUNT, SECOND_FACTOR_TRIES,
    SECOND_FACTOR_WAIT_SECONDS, TOTP_STEP_SECONDS,
};
pub use session::{Client, Presented, RefreshHash, Rotation, Session, SessionId, SessionLifetime, SessionView};
pub use user::{Disabled, MfaView, OwnProfileView, User, UserId, UserView};
pub use username::{Username, UsernameError};
