//! The words of every message the service sends, in one place. No message
//! holds a secret but the code it exists to carry.

use super::Mail;
use crate::domain::{EmailAddress, OneTimeCode, CODE_LIFETIME_SECONDS};

/// How the messages name the service.
pub const SERVICE_NAME: &str = "User Auth Service";

fn html(paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>", escape(p))).collect();
    format!("<!doctype html><html><body style=\"font-family: sans-serif\">{body}</body></html>")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn mail(to: &EmailAddress, subject: String, paragraphs: Vec<String>) -> Mail {
    Mail { to: to.clone(), subject, text: paragraphs.join("\n\n") + "\n", html: html(&paragraphs) }
}

/// [`mail`], with a link after the first paragraph: the address written out
/// in the text, and under `label` in the HTML.
fn mail_with_link(to: &EmailAddress, subject: String, paragraphs: Vec<String>, label: &str, url: &str) -> Mail {
    let mut message = mail(to, subject, paragraphs.clone());
    let mut text = paragraphs;
    text.insert(1, format!("{label}: {url}"));
    message.text = text.join("\n\n") + "\n";
    let anchor = format!("<p><a href=\"{}\">{}</a></p>", escape(url), escape(label));
    if let Some(end) = message.html.find("</p>") {
        message.html.insert_str(end + "</p>".len(), &anchor);
    }
    message
}

/// The code that proves `to` is the reader's, for the account `username`.
pub fn verification_code(to: &EmailAddress, username: &str, code: &OneTimeCode) -> Mail {
    let minutes = CODE_LIFETIME_SECONDS / 60;
    mail(
        to,
        format!("Your {SERVICE_NAME} verification code"),
        vec![
            format!("Your code: {}", code.expose()),
            format!(
                "Enter it to confirm that this address belongs to the account {username}. It is valid for \
                 {minutes} minutes and can be used once."
            ),
            "If you did not ask for it, ignore this message: nothing changes without the code.".to_owned(),
        ],
    )
}

/// To an address another account has verified, instead of a code: someone
/// gave it for an account it cannot be used with.
pub fn address_in_use(to: &EmailAddress) -> Mail {
    mail(
        to,
        format!("Your address was given to {SERVICE_NAME}"),
        vec![
            "Someone asked to use this address for an account, but it already belongs to another account, so \
             no code was sent."
                .to_owned(),
            "If it was you, sign in to the account that has this address, or recover it. Otherwise, you can \
             ignore this message."
                .to_owned(),
        ],
    )
}

/// To the verified address an account had, when its owner put another in
/// its place: the new one is not named.
pub fn address_changed(to: &EmailAddress, username: &str) -> Mail {
    mail(
        to,
        format!("The address of your {SERVICE_NAME} account was changed"),
        vec![
            format!(
                "The account {username} no longer uses this address: its owner gave another one, with the \
                 account's password. This address will receive no more mail about the account."
            ),
            "If it was not you, someone knows your password: recover the account and change it.".to_owned(),
        ],
    )
}

/// The code that lets the reader of the account's verified address set a
/// new password without the old one.
///
/// With the hosted pages at `pages_url`, a link to their recovery page
/// too, the code in its fragment: a fragment is never sent to a server, so
/// neither the pages' host nor a mail scanner that opens links learns it,
/// and the page spends it only when the reader sends a new password.
pub fn recovery_code(to: &EmailAddress, username: &str, code: &OneTimeCode, pages_url: Option<&str>) -> Mail {
    let minutes = CODE_LIFETIME_SECONDS / 60;
    let subject = format!("Your {SERVICE_NAME} recovery code");
    let paragraphs = vec![
        format!("Your code: {}", code.expose()),
        format!(
            "Enter it with a new password to get back into the account {username}. It is valid for {minutes} \
                 minutes and can be used once; every session of the account ends when the password is set."
        ),
        "If you did not ask for it, ignore this message: your password stays as it is.".to_owned(),
    ];
    match pages_url {
        Some(pages) => {
            // Usernames are of `a-z 0-9 . _ -`, codes of digits: nothing to escape.
            let link = format!("{}#/recover?username={username}&code={}", pages.trim_end_matches('/'), code.expose());
            mail_with_link(to, subject, paragraphs, "Choose a new password", &link)
        }
        None => mail(to, subject, paragraphs),
    }
}

/// After a recovery set a new password.
pub fn password_reset(to: &EmailAddress, username: &str) -> Mail {
    mail(
        to,
        format!("The password of your {SERVICE_NAME} account was reset"),
        vec![
            format!(
                "The password of the account {username} was set anew with a recovery code mailed to this address, \
                 and every session of the account was ended."
            ),
            "If it was not you, someone can read this mailbox: secure it, then recover the account again.".to_owned(),
        ],
    )
}

/// After the owner changed the password, signed in.
pub fn password_changed(to: &EmailAddress, username: &str) -> Mail {
    mail(
        to,
        format!("The password of your {SERVICE_NAME} account was changed"),
        vec![
            format!("The password of the account {username} was changed, and its other sessions were ended."),
            "If it was not you, recover the account with this address now.".to_owned(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_named_as_a_code_in_both_bodies() {
        let to = EmailAddress::parse("alice@example.org").unwrap();
        let code = OneTimeCode::parse("48213957").unwrap();
        let mail = verification_code(&to, "alice", &code);
        assert!(mail.text.starts_with("Your code: 48213957\n"), "{}", mail.text);
        assert!(mail.html.contains("<p>Your code: 48213957</p>"), "{}", mail.html);
        assert_eq!(mail.to, to);
        assert!(!format!("{mail:?}").contains("48213957"));
    }

    #[test]
    fn the_recovery_mail_links_to_the_pages_with_the_code_in_the_fragment() {
        let to = EmailAddress::parse("alice@example.org").unwrap();
        let code = OneTimeCode::parse("48213957").unwrap();
        let plain = recovery_code(&to, "alice", &code, None);
        assert!(!plain.text.contains("http") && !plain.html.contains("<a "), "{}", plain.html);
        let linked = recovery_code(&to, "alice", &code, Some("https://auth.example.com/app/"));
        let link = "https://auth.example.com/app#/recover?username=alice&amp;code=48213957";
        assert!(
            linked.html.contains(&format!("<p><a href=\"{link}\">Choose a new password</a></p>")),
            "{}",
            linked.html
        );
        assert!(linked
            .text
            .contains("Choose a new password: https://auth.example.com/app#/recover?username=alice&code=48213957\n"));
        assert!(linked.text.starts_with("Your code: 48213957\n\nChoose a new password: "), "{}", linked.text);
        assert!(!format!("{linked:?}").contains("48213957"), "the code stays out of Debug output");
    }

    #[test]
    fn the_address_in_use_mail_carries_no_code() {
        let to = EmailAddress::parse("alice@example.org").unwrap();
        let mail = address_in_use(&to);
        assert!(!mail.text.chars().any(|c| c.is_ascii_digit()), "{}", mail.text);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}

/// What happened to an account's second factor, for the notice of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorChange {
    Enabled,
    Removed,
    RecoveryCodesReplaced,
}

/// Tells the account's address that its second factor changed: a change
/// made with a stolen session and password does not go unseen.
pub fn second_factor_changed(to: &EmailAddress, username: &str, change: FactorChange) -> Mail {
    let (subject, line) = match change {
        FactorChange::Enabled => (
            "A second factor was added to",
            format!("An authenticator app now gives the second factor of the account {username}; keep its recovery codes safe."),
        ),
        FactorChange::Removed => (
            "The second factor was removed from",
            format!("The account {username} now signs in with its password alone."),
        ),
        FactorChange::RecoveryCodesReplaced => (
            "New recovery codes were made for",
            format!("The account {username} has new recovery codes; the old ones no longer work."),
        ),
    };
    mail(
        to,
        format!("{subject} your {SERVICE_NAME} account"),
        vec![line, "If it was not you, recover the account with this address now.".to_owned()],
    )
}
