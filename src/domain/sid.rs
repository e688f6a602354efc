//! Resource identifiers (CONTRACT §2): a two-letter prefix and 32 lowercase hex digits.
use std::fmt;

macro_rules! sid_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, derive_more::Display, derive_more::AsRef)]
        #[as_ref(str)]
        pub struct $name(String);

        impl $name {
            /// The two-letter prefix of this kind of identifier.
            pub const PREFIX: &'static str = $prefix;

            /// A new random identifier (122 random bits from a v4 UUID).
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

            /// Parses an identifier: the right prefix, then exactly 32 lowercase hex digits.
            pub fn parse(s: &str) -> Option<Self> {
                is_sid(s, $prefix).then(|| $name(s.to_owned()))
            }

            /// Wraps a value read back from our own storage, which only ever holds valid sids.
            pub fn from_trusted(s: String) -> Self {
                debug_assert!(is_sid(&s, $prefix), "invalid stored sid {s}");
                $name(s)
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

sid_type!(
    /// An account (`AC…`).
    AccountSid, "AC");
sid_type!(
    /// A message (`SM…`).
    MessageSid, "SM");
sid_type!(
    /// A media item of a message (`ME…`).
    MediaSid, "ME");
sid_type!(
    /// A session (`US…`).
    SessionSid, "US");
sid_type!(
    /// Feedback on a message (`FB…`).
    FeedbackSid, "FB");

/// True when `s` is `prefix` followed by 32 lowercase hex digits.
pub fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s.as_bytes()[2..].iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sids_have_prefix_and_32_lowercase_hex_digits() {
        for _ in 0..100 {
            let sid = MessageSid::generate();
            assert_eq!(sid.as_str().len(), 34);
            assert!(sid.as_str().starts_with("SM"));
            assert!(MessageSid::parse(sid.as_str()).is_some());
        }
        assert_ne!(AccountSid::generate(), AccountSid::generate());
    }

    #[test]
    fn parse_rejects_wrong_prefix_case_length_and_characters() {
        let good = "AC0123456789abcdef0123456789abcdef";
        assert!(AccountSid::parse(good).is_some());
        assert!(MessageSid::parse(good).is_none(), "wrong prefix");
        assert!(AccountSid::parse("AC0123456789ABCDEF0123456789abcdef").is_none(), "uppercase hex");
        assert!(AccountSid::parse("AC0123456789abcdef0123456789abcde").is_none(), "too short");
        assert!(AccountSid::parse("AC0123456789abcdef0123456789abcdef0").is_none(), "too long");
        assert!(AccountSid::parse("AC0123456789abcdef0123456789abcdeg").is_none(), "not hex");
        assert!(
            AccountSid::parse("ac0123456789abcdef0123456789abcdef").is_none(),
            "lowercase prefix"
        );
        assert!(AccountSid::parse("").is_none());
        assert!(AccountSid::parse("AC€123456789abcdef0123456789abcd").is_none(), "multibyte");
    }
}
