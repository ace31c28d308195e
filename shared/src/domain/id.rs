//! Opaque, unguessable ids: UUID v4s, accepted only in their canonical form,
//! so that anything else is a plain "not found" without a database read.

/// Declares an id type with `new_random`, `parse`, `as_str` and `Display`.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new_random() -> Self {
                $name(uuid::Uuid::new_v4().to_string())
            }

            /// Accepts only the canonical (lower-case, hyphenated) form.
            pub fn parse(raw: &str) -> Option<Self> {
                let canonical = uuid::Uuid::try_parse(raw).ok()?.hyphenated().to_string();
                (canonical == raw).then_some($name(canonical))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use uuid_id;
