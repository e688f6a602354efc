//! Timestamps. Stored as Unix seconds; written as RFC 2822 the way Twilio writes them
//! (`Thu, 24 Aug 2023 05:01:45 +0000`, CONTRACT §2); read from Twilio's query formats.
use time::{format_description::well_known::Rfc2822, macros::format_description, Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Now, in Unix seconds.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Now, in Unix milliseconds (scheduling precision for the dispatcher).
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Formats Unix seconds as RFC 2822 in UTC (`+0000`).
pub fn rfc2822(ts: i64) -> String {
    if let Some(s) = fast_date(ts, "+0000") {
        return s;
    }
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc2822).ok())
        .unwrap_or_default()
}

/// Formats Unix seconds as an HTTP date (IMF-fixdate) for `Last-Modified`.
pub fn http_date(ts: i64) -> String {
    if let Some(s) = fast_date(ts, "GMT") {
        return s;
    }
    let t = OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let f = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    t.format(&f).unwrap_or_default()
}

/// `Thu, 24 Aug 2023 05:01:45 <zone>` for times from 1970 to 9999, written directly: every
/// message carries three dates and every response a `Last-Modified`, and the general formatter
/// costs several times more. `None` outside that range (the callers fall back to `time`).
fn fast_date(ts: i64, zone: &str) -> Option<String> {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    if !(0..253_402_300_800).contains(&ts) {
        return None;
    }
    let (days, secs) = (ts / 86_400, ts % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = String::with_capacity(31);
    let two = |out: &mut String, n: i64| {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    out.push_str(DAYS[(days % 7) as usize]);
    out.push_str(", ");
    two(&mut out, day);
    out.push(' ');
    out.push_str(MONTHS[(month - 1) as usize]);
    out.push(' ');
    two(&mut out, year / 100);
    two(&mut out, year % 100);
    out.push(' ');
    two(&mut out, secs / 3600);
    out.push(':');
    two(&mut out, secs / 60 % 60);
    out.push(':');
    two(&mut out, secs % 60);
    out.push(' ');
    out.push_str(zone);
    Some(out)
}

/// Parses an HTTP date (`If-Modified-Since`); `None` when it is not one (RFC 9110 says ignore it then).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let f = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    PrimitiveDateTime::parse(s.trim(), &f).ok().map(|t| t.assume_utc().unix_timestamp())
}

/// A point in time given by a client: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ` (what the Twilio
/// libraries send), any RFC 3339 date-time, or RFC 2822.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A whole UTC day, as Unix seconds of its first second.
    Day(i64),
    /// An instant, as Unix seconds.
    Instant(i64),
}

impl When {
    /// Parses one of the accepted formats.
    pub fn parse(s: &str) -> Option<When> {
        let s = s.trim();
        if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
            return Some(When::Day(d.midnight().assume_utc().unix_timestamp()));
        }
        if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
            return Some(When::Instant(t.to_offset(UtcOffset::UTC).unix_timestamp()));
        }
        if let Ok(t) = PrimitiveDateTime::parse(s, format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]")) {
            return Some(When::Instant(t.assume_utc().unix_timestamp()));
        }
        // What a browser's `datetime-local` input sends when the seconds are zero (taken as UTC).
        if let Ok(t) = PrimitiveDateTime::parse(s, format_description!("[year]-[month]-[day]T[hour]:[minute]")) {
            return Some(When::Instant(t.assume_utc().unix_timestamp()));
        }
        OffsetDateTime::parse(s, &Rfc2822).ok().map(|t| When::Instant(t.unix_timestamp()))
    }

    /// The first second this value covers.
    pub fn start(self) -> i64 {
        match self {
            When::Day(d) | When::Instant(d) => d,
        }
    }

    /// The last second this value covers.
    pub fn end(self) -> i64 {
        match self {
            When::Day(d) => d + 86_399,
            When::Instant(t) => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2822_is_twilio_shaped() {
        assert_eq!(rfc2822(1_692_853_305), "Thu, 24 Aug 2023 05:01:45 +0000");
    }

    #[test]
    fn direct_formatting_matches_the_general_formatter() {
        let f = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
        let mut ts = 0i64;
        while ts < 253_402_300_800 {
            let t = OffsetDateTime::from_unix_timestamp(ts).unwrap();
            assert_eq!(rfc2822(ts), t.format(&Rfc2822).unwrap(), "{ts}");
            assert_eq!(http_date(ts), t.format(&f).unwrap(), "{ts}");
            // A prime step (about 11.6 days and 17 s) walks through days, months, leap years and times.
            ts += 1_000_003;
        }
        for ts in [0, 951_782_400, 951_868_799, 4_107_542_400, 253_402_300_799] {
            let t = OffsetDateTime::from_unix_timestamp(ts).unwrap();
            assert_eq!(rfc2822(ts), t.format(&Rfc2822).unwrap(), "{ts}");
        }
        assert_eq!(rfc2822(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
    }

    #[test]
    fn http_dates_round_trip() {
        let s = http_date(1_692_853_305);
        assert_eq!(s, "Thu, 24 Aug 2023 05:01:45 GMT");
        assert_eq!(parse_http_date(&s), Some(1_692_853_305));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn client_dates_in_every_accepted_format() {
        assert_eq!(When::parse("2023-08-24"), Some(When::Day(1_692_835_200)));
        assert_eq!(When::parse("2023-08-24").unwrap().end(), 1_692_835_200 + 86_399);
        assert_eq!(When::parse("2023-08-24T05:01:45Z"), Some(When::Instant(1_692_853_305)));
        assert_eq!(When::parse("2023-08-24T05:01"), Some(When::Instant(1_692_853_305 - 45)));
        assert_eq!(When::parse("2023-08-24T07:01:45+02:00"), Some(When::Instant(1_692_853_305)));
        assert_eq!(When::parse("Thu, 24 Aug 2023 05:01:45 +0000"), Some(When::Instant(1_692_853_305)));
        assert_eq!(When::parse("24/08/2023"), None);
        assert_eq!(When::parse(""), None);
    }
}
