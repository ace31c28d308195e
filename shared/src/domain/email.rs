use std::fmt;

/// The longest address the service takes: SMTP's limit on a path.
pub const EMAIL_MAX_LENGTH: usize = 254;
const LOCAL_PART_MAX_LENGTH: usize = 64;

/// An email address as the service compares and stores it: trimmed and
/// lower-cased, so that `Alice@Example.org ` and `alice@example.org` are one
/// address, and one account may hold it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the email address must be one address, as name@domain.example, of at most {EMAIL_MAX_LENGTH} characters")]
pub struct EmailError;

impl EmailAddress {
    /// One plain address: printable ASCII, one `@`, a dotted domain. No
    /// display name, comment or list: whatever could make a mail header
    /// name another recipient is refused.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let address = raw.trim().to_ascii_lowercase();
        if address.len() > EMAIL_MAX_LENGTH {
            return Err(EmailError);
        }
        let (local, domain) = address.split_once('@').ok_or(EmailError)?;
        let local_ok = !local.is_empty()
            && local.len() <= LOCAL_PART_MAX_LENGTH
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        match local_ok && domain_ok {
            true => Ok(EmailAddress(address)),
            false => Err(EmailError),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The address on a user's profile, and whether its owner proved it is
/// theirs. Only a verified address is claimed (one account each) and
/// receives mail about the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEmail {
    pub address: EmailAddress,
    pub verified: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_compared_trimmed_and_lower_cased() {
        let a = EmailAddress::parse("  Alice.Smith+auth@Example.ORG ").unwrap();
        assert_eq!(a.as_str(), "alice.smith+auth@example.org");
        assert_eq!(a, EmailAddress::parse("alice.smith+auth@example.org").unwrap());
    }

    #[test]
    fn anything_but_one_plain_address_is_refused() {
        for raw in [
            "",
            "alice",
            "alice@",
            "@example.org",
            "alice@example",
            "alice@@example.org",
            "a@b@example.org",
            "Alice <alice@example.org>",
            "alice@example.org, bob@example.org",
            "alice@example.org\r\nBcc: eve@example.org",
            "al ice@example.org",
            ".alice@example.org",
            "alice.@example.org",
            "al..ice@example.org",
            "alice@-example.org",
            "alice@example..org",
            "\"alice\"@example.org",
            "alicé@example.org",
        ] {
            assert_eq!(EmailAddress::parse(raw), Err(EmailError), "{raw:?}");
        }
        let long_local = format!("{}@example.org", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&long_local), Err(EmailError));
        let long = format!("a@{}.org", "b".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError));
    }
}
