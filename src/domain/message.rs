//! Messages, media and feedback (CONTRACT §4), and the rules Twilio applies to them:
//! phone-number format, segment counting, magic test numbers, the reserved failure range.
use super::sid::{AccountSid, MediaSid, MessageSid};
use serde::{Serialize, Serializer};

/// Twilio's message statuses (the ones this server produces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, derive_more::Display, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Accepted, waiting for the dispatcher.
    #[display("queued")]
    Queued,
    /// Waiting for its `SendAt` time.
    #[display("scheduled")]
    Scheduled,
    /// Being handed to the (simulated) carrier; cannot be deleted now.
    #[display("sending")]
    Sending,
    /// Handed to the carrier.
    #[display("sent")]
    Sent,
    /// The handset confirmed it.
    #[display("delivered")]
    Delivered,
    /// The carrier could not deliver it.
    #[display("undelivered")]
    Undelivered,
    /// It could not be sent at all.
    #[display("failed")]
    Failed,
    /// Canceled by the owner before it went out.
    #[display("canceled")]
    Canceled,
    /// An inbound message that arrived.
    #[display("received")]
    Received,
}

impl MessageStatus {
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "scheduled" => Self::Scheduled,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "undelivered" => Self::Undelivered,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            "received" => Self::Received,
            _ => return None,
        })
    }

    /// The message has not left yet: it may still be canceled.
    pub fn cancelable(self) -> bool {
        matches!(self, Self::Queued | Self::Scheduled)
    }

    /// The message is being handed over: it may not be deleted now (error 20009).
    pub fn deletable(self) -> bool {
        !matches!(self, Self::Sending)
    }

    /// Every status, for filters and documentation.
    pub const ALL: [&'static str; 9] = [
        "queued",
        "scheduled",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "canceled",
        "received",
    ];
}

/// Serializes Unix seconds as an RFC 2822 string.
pub fn ser_date<S: Serializer>(ts: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::dates::rfc2822(*ts))
}

/// Serializes optional Unix seconds as an RFC 2822 string or `null`.
pub fn ser_opt_date<S: Serializer>(ts: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => s.serialize_str(&super::dates::rfc2822(*ts)),
        None => s.serialize_none(),
    }
}

fn ser_string<S: Serializer>(n: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

/// A message as clients see it: Twilio's field set, in Twilio's types (counts are strings).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Message {
    /// `SM…`
    #[schema(value_type = String, pattern = "^SM[0-9a-f]{32}$")]
    pub sid: MessageSid,
    /// The owner.
    #[schema(value_type = String, pattern = "^AC[0-9a-f]{32}$")]
    pub account_sid: AccountSid,
    /// E.164 sender.
    pub from: String,
    /// E.164 recipient.
    pub to: String,
    /// The text (empty once redacted).
    pub body: String,
    /// Current status.
    pub status: MessageStatus,
    /// `outbound-api` or `inbound`.
    pub direction: &'static str,
    /// Carrier segments, as a string (Twilio's type).
    #[serde(serialize_with = "ser_string")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub num_segments: u32,
    /// Media count, as a string (Twilio's type).
    #[serde(serialize_with = "ser_string")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub num_media: u32,
    /// RFC 2822.
    #[serde(serialize_with = "ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_created: i64,
    /// RFC 2822.
    #[serde(serialize_with = "ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_updated: i64,
    /// RFC 2822 or null before it was sent.
    #[serde(serialize_with = "ser_opt_date")]
    #[schema(value_type = Option<String>)]
    pub date_sent: Option<i64>,
    /// Twilio error code when failed / undelivered.
    pub error_code: Option<u32>,
    /// Its text.
    pub error_message: Option<String>,
    /// Always null: nothing is billed here.
    pub price: Option<String>,
    /// `USD`.
    pub price_unit: &'static str,
    /// Always null: no messaging services here.
    pub messaging_service_sid: Option<String>,
    /// `2010-04-01`.
    pub api_version: &'static str,
    /// Not part of the JSON: when a scheduled message goes out.
    #[serde(skip)]
    pub send_at: Option<i64>,
}

/// A media item attached to a message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Media {
    /// `ME…`
    #[schema(value_type = String, pattern = "^ME[0-9a-f]{32}$")]
    pub sid: MediaSid,
    /// The message it belongs to.
    #[schema(value_type = String, pattern = "^SM[0-9a-f]{32}$")]
    pub parent_sid: MessageSid,
    /// The owner.
    #[schema(value_type = String, pattern = "^AC[0-9a-f]{32}$")]
    pub account_sid: AccountSid,
    /// Guessed from the URL's extension.
    pub content_type: String,
    /// RFC 2822.
    #[serde(serialize_with = "ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_created: i64,
    /// RFC 2822.
    #[serde(serialize_with = "ser_date")]
    #[schema(value_type = String, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_updated: i64,
    /// Not in Twilio's JSON: where the media lives.
    #[serde(skip)]
    pub url: String,
}

/// Feedback on a message's delivery; before any is given, the outcome and dates are `null`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Feedback {
    /// The owner.
    #[schema(value_type = String, pattern = "^AC[0-9a-f]{32}$")]
    pub account_sid: AccountSid,
    /// The message.
    #[schema(value_type = String, pattern = "^SM[0-9a-f]{32}$")]
    pub message_sid: MessageSid,
    /// `confirmed` or `unconfirmed`; `null` until feedback is given.
    pub outcome: Option<String>,
    /// RFC 2822; `null` until feedback is given.
    #[serde(serialize_with = "ser_opt_date")]
    #[schema(value_type = Option<String>, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_created: Option<i64>,
    /// RFC 2822; `null` until feedback is given.
    #[serde(serialize_with = "ser_opt_date")]
    #[schema(value_type = Option<String>, example = "Thu, 24 Aug 2023 05:01:45 +0000")]
    pub date_updated: Option<i64>,
}

impl Feedback {
    /// The feedback resource of a message nobody has given feedback on yet.
    pub fn none_yet(account_sid: AccountSid, message_sid: MessageSid) -> Feedback {
        Feedback {
            account_sid,
            message_sid,
            outcome: None,
            date_created: None,
            date_updated: None,
        }
    }
}

/// Feedback outcomes.
pub const OUTCOMES: [&str; 2] = ["confirmed", "unconfirmed"];

/// Longest body accepted (error 21617 past it).
pub const MAX_BODY_CHARS: usize = 1600;

/// The E.164 pattern, for validation messages, HAL-FORMS `regex` and the OpenAPI document.
pub const E164_REGEX: &str = r"^\+[1-9][0-9]{1,14}$";

/// True for `+` followed by 2 to 15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3 && b.len() <= 16 && b[0] == b'+' && (b'1'..=b'9').contains(&b[1]) && b[2..].iter().all(u8::is_ascii_digit)
}

/// Carrier segment count: GSM-7 bodies split at 160 characters (153 per segment once split,
/// extension characters counting twice); anything else is UCS-2, 70 (67 once split) UTF-16 units.
pub fn segments(body: &str) -> u32 {
    if body.is_empty() {
        return 1;
    }
    let (units, single, multi) = match gsm7_length(body) {
        Some(septets) => (septets, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    if units <= single {
        1
    } else {
        units.div_ceil(multi) as u32
    }
}

/// Septets needed to send `body` in the GSM 03.38 alphabet, or `None` if a character is outside it.
fn gsm7_length(body: &str) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENDED: &str = "\u{000C}^{}\\[~]|€";
    body.chars().try_fold(0usize, |n, c| {
        if BASIC.contains(c) {
            Some(n + 1)
        } else if EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

/// Content type guessed from a media URL's extension.
pub fn content_type_for(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "amr" => "audio/amr",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "vcf" => "text/vcard",
        "txt" => "text/plain",
        "csv" => "text/csv",
        _ => "application/octet-stream",
    }
}

/// Twilio's magic test numbers (twilio.com/docs/iam/test-credentials), answered at create.
/// Returns the Twilio error code and message for a `To` number.
pub fn magic_to(to: &str) -> Option<(u32, &'static str)> {
    Some(match to {
        "+15005550001" => (21211, "The 'To' number +15005550001 is not a valid phone number."),
        "+15005550002" => (
            21612,
            "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS.",
        ),
        "+15005550003" => (
            21408,
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003.",
        ),
        "+15005550004" => (21610, "Attempt to send to unsubscribed recipient"),
        "+15005550009" => (21614, "'To' number +15005550009 is not a valid mobile number"),
        _ => return None,
    })
}

/// Twilio's magic `From` numbers.
pub fn magic_from(from: &str) -> Option<(u32, &'static str)> {
    Some(match from {
        "+15005550001" => (
            21212,
            "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID.",
        ),
        "+15005550007" => (
            21606,
            "The 'From' phone number +15005550007 is not a valid, SMS-capable inbound phone number or short code for your account.",
        ),
        "+15005550008" => (
            21611,
            "This 'From' number +15005550008 has exceeded the maximum number of queued messages",
        ),
        _ => return None,
    })
}

/// The reserved failure range (documented in docs/testing-failures.md): messages to
/// `+1555777000N` are accepted, then the dispatcher ends them in the returned state and error.
pub fn reserved_failure(to: &str) -> Option<(MessageStatus, u32, &'static str)> {
    let suffix = to.strip_prefix("+1555777000")?;
    Some(match suffix {
        "1" => (MessageStatus::Undelivered, 30003, "Unreachable destination handset"),
        "2" => (MessageStatus::Undelivered, 30005, "Unknown destination handset"),
        "3" => (MessageStatus::Failed, 30006, "Landline or unreachable carrier"),
        "4" => (MessageStatus::Undelivered, 30007, "Message filtered"),
        d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => (MessageStatus::Failed, 30008, "Unknown error"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_plus_and_up_to_15_digits_only() {
        assert!(is_e164("+15005550006"));
        assert!(is_e164("+441234567890"));
        assert!(!is_e164("15005550006"));
        assert!(!is_e164("+05005550006"));
        assert!(!is_e164("+1"));
        assert!(!is_e164("+1234567890123456"));
        assert!(!is_e164("+1 500 555 0006"));
        assert!(!is_e164("+1500555000a"));
    }

    #[test]
    fn gsm7_segments_split_at_160_then_153() {
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        // '€' and '[' are extension characters and cost two septets each.
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"[".repeat(81)), 2);
    }

    #[test]
    fn ucs2_segments_split_at_70_then_67() {
        assert_eq!(segments(&"ж".repeat(70)), 1);
        assert_eq!(segments(&"ж".repeat(71)), 2);
        assert_eq!(segments(&"ж".repeat(134)), 2);
        assert_eq!(segments(&"ж".repeat(135)), 3);
        // An emoji is two UTF-16 units.
        assert_eq!(segments(&"😀".repeat(35)), 1);
        assert_eq!(segments(&"😀".repeat(36)), 2);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type_for("https://example.com/cat.JPG?size=2"), "image/jpeg");
        assert_eq!(content_type_for("https://example.com/a.png"), "image/png");
        assert_eq!(content_type_for("https://example.com/noext"), "application/octet-stream");
    }

    #[test]
    fn reserved_range_maps_to_failure_states() {
        assert_eq!(reserved_failure("+15557770001").map(|r| r.1), Some(30003));
        assert_eq!(reserved_failure("+15557770003").map(|r| r.0), Some(MessageStatus::Failed));
        assert_eq!(reserved_failure("+15557770009").map(|r| r.1), Some(30008));
        assert_eq!(reserved_failure("+15557770010"), None);
        assert_eq!(reserved_failure("+15005550006"), None);
    }
}
