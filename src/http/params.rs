//! Request parameters: form-encoded or JSON bodies with the same (Twilio PascalCase) names, and
//! query strings. One type for both, so handlers read `params.get("To")` whatever was sent.
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;

/// Parameters as name/value pairs, in the order sent (names may repeat, as `MediaUrl` does).
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters from pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        Params { pairs }
    }

    /// The query string's parameters.
    pub fn from_query(req: &HttpRequest) -> Result<Params, ApiError> {
        parse_form(req.query_string().as_bytes()).map_err(|e| ApiError::bad_request(format!("The query string is malformed: {e}")))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Whether `name` was sent at all (even empty: `Body=` is not the same as no `Body`).
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Every pair.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Whether the bytes, percent-decoded, are UTF-8. The form decoder itself would replace a bad
/// sequence (`%FF`, or Latin-1 `caf%E9`) with U+FFFD, silently changing what the client sent.
fn percent_decodes_to_utf8(bytes: &[u8]) -> bool {
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

fn parse_form(bytes: &[u8]) -> Result<Params, String> {
    if !percent_decodes_to_utf8(bytes) {
        return Err("it is not valid UTF-8 (percent-encoded bytes must encode UTF-8 text)".into());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|e| e.to_string())?;
    for (k, v) in &pairs {
        if k.contains('\0') || v.contains('\0') {
            return Err(format!("parameter '{}' contains a NUL character", k.replace('\0', "\\0")));
        }
    }
    Ok(Params {
        pairs: pairs.into_iter().filter(|(k, _)| k != "_method").collect(),
    })
}

/// A JSON parameter value: a string, as in a form (Twilio's parameters are all text). Numbers,
/// booleans and `null` are refused rather than guessed at, so a JSON body means exactly what
/// the same form body would.
fn scalar(name: &str, v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        _ if name.contains('\0') => Err(ApiError::bad_request("A parameter name contains a NUL character")),
        Value::String(s) if s.contains('\0') => Err(ApiError::bad_request(format!("Parameter '{name}' contains a NUL character"))),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ApiError::bad_request(format!(
            "Parameter '{name}' must be a string (or, where it may repeat, a list of strings), as in a form"
        ))),
    }
}

/// Parses a JSON object body into parameters.
pub fn parse_json(bytes: &[u8]) -> Result<Params, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("The JSON body is malformed: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "The JSON body must be an object of parameters, like {\"To\": \"+15005550006\"}",
        ));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (name, v) in &map {
        match v {
            Value::Array(items) => {
                for item in items {
                    if let Some(s) = scalar(name, item)? {
                        pairs.push((name.clone(), s));
                    }
                }
            }
            other => {
                if let Some(s) = scalar(name, other)? {
                    pairs.push((name.clone(), s));
                }
            }
        }
    }
    Ok(Params { pairs })
}

/// Parses a body by its content type.
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Params, ApiError> {
    let mime = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match mime.as_deref() {
        _ if bytes.is_empty() => Ok(Params::default()),
        Some("application/x-www-form-urlencoded") => {
            parse_form(bytes).map_err(|e| ApiError::bad_request(format!("The form body is malformed: {e}")))
        }
        Some(m) if m == "application/json" || m.ends_with("+json") => parse_json(bytes),
        Some(m) => Err(ApiError::unsupported_media_type(m)),
        None => Err(ApiError::unsupported_media_type("a body without Content-Type")),
    }
}

/// Reads the body up to the configured limit (413 past it), within `timeout` (408 past it: a
/// client trickling its body must not hold the request open forever; the server's
/// `client_request_timeout` only covers the request head).
pub async fn read_body(limit: usize, timeout: Duration, payload: &mut Payload) -> Result<web::Bytes, ApiError> {
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| match e {
                actix_web::error::PayloadError::Overflow => ApiError::payload_too_large(limit),
                other => ApiError::bad_request(format!("The request body could not be read: {other}")),
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(timeout, read).await.unwrap_or_else(|_| {
        Err(ApiError::new(
            actix_web::http::StatusCode::REQUEST_TIMEOUT,
            20408,
            format!(
                "The request body did not arrive within {} s; send it at once and retry",
                timeout.as_secs()
            ),
        )
        .header("Connection", "close"))
    })
}

impl FromRequest for Params {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Params, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (limit, timeout) = req
            .app_data::<web::Data<AppState>>()
            .map(|s| (s.config.body_limit, Duration::from_secs(s.config.client_timeout)))
            .unwrap_or((64 * 1024, Duration::from_secs(10)));
        let content_type = req.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("invalid").to_owned());
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::payload_too_large(limit));
            }
            let bytes = read_body(limit, timeout, &mut payload).await?;
            parse_body(content_type.as_deref(), &bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_give_the_same_parameters() {
        let f = parse_body(Some("application/x-www-form-urlencoded"), b"To=%2B1500&MediaUrl=a&MediaUrl=b&Body=").unwrap();
        let j = parse_body(
            Some("application/json; charset=utf-8"),
            br#"{"To":"+1500","MediaUrl":["a","b"],"Body":""}"#,
        )
        .unwrap();
        for p in [&f, &j] {
            assert_eq!(p.get("To"), Some("+1500"));
            assert_eq!(p.all("MediaUrl"), vec!["a", "b"]);
            assert!(p.has("Body"));
            assert_eq!(p.get("Body"), Some(""));
            assert!(!p.has("From"));
        }
    }

    #[test]
    fn bad_bodies_are_client_errors() {
        let cases: [(Option<&str>, &[u8], u16); 7] = [
            (Some("application/json"), b"{", 400),
            (Some("application/json"), b"[1]", 400),
            (Some("application/json"), br#"{"To":{"a":1}}"#, 400),
            (Some("application/x-www-form-urlencoded"), b"To=\xff", 400),
            (Some("application/x-www-form-urlencoded"), b"To=a%00b", 400),
            (Some("text/plain"), b"hi", 415),
            (None, b"hi", 415),
        ];
        for (ct, body, status) in cases {
            let e = parse_body(ct, body).unwrap_err();
            assert_eq!(e.status.as_u16(), status, "{ct:?} {body:?}");
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_cleanly() {
        let body = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            parse_body(Some("application/json"), body.as_bytes()).unwrap_err().status.as_u16(),
            400
        );
    }

    #[test]
    fn empty_body_is_no_parameters_whatever_the_type() {
        assert!(parse_body(None, b"").unwrap().pairs().is_empty());
        assert!(parse_body(Some("text/plain"), b"").unwrap().pairs().is_empty());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    proptest! {
        /// Any parameters (any text but NUL, names repeated or empty), form-encoded, parse back to
        /// exactly themselves, in order.
        #[test]
        fn form_bodies_round_trip(pairs in prop::collection::vec(("[^\0]{0,12}", "[^\0]{0,24}"), 0..10)) {
            let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "_method").collect();
            let body = serde_urlencoded::to_string(&pairs).unwrap();
            let parsed = parse_body(FORM, body.as_bytes()).unwrap();
            prop_assert_eq!(parsed.pairs(), &pairs[..]);
        }

        /// The same parameters as JSON (lists for repeated names) give the same pairs as the form.
        #[test]
        fn json_and_form_bodies_agree(map in prop::collection::btree_map("[^\0]{0,8}", prop::collection::vec("[^\0]{0,12}", 1..3), 0..6)) {
            let map: BTreeMap<String, Vec<String>> = map.into_iter().filter(|(k, _)| k != "_method").collect();
            let pairs: Vec<(String, String)> = map.iter().flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone()))).collect();
            let json = parse_body(Some("application/json"), serde_json::to_string(&map).unwrap().as_bytes()).unwrap();
            let form = parse_body(FORM, serde_urlencoded::to_string(&pairs).unwrap().as_bytes()).unwrap();
            prop_assert_eq!(json.pairs(), &pairs[..]);
            prop_assert_eq!(form.pairs(), &pairs[..]);
        }

        /// A byte that is not UTF-8, raw or percent-encoded, is refused with a 400, never replaced.
        #[test]
        fn non_utf8_form_bodies_are_refused(
            name in "[A-Za-z]{1,8}",
            bad in prop::sample::select(vec![0x80u8, 0xc3, 0xe9, 0xfe, 0xff]),
            raw in any::<bool>(),
        ) {
            let body = if raw { [name.as_bytes(), b"=caf", &[bad]].concat() } else { format!("{name}=caf%{bad:02X}").into_bytes() };
            prop_assert_eq!(parse_body(FORM, &body).unwrap_err().status.as_u16(), 400);
        }

        /// Any bytes under any content type: parameters, a 400 or a 415 — never a panic, never NUL.
        #[test]
        fn any_body_gives_parameters_or_a_client_error(
            content_type in prop::sample::select(vec![
                "application/x-www-form-urlencoded",
                "application/json",
                "application/hal+json; charset=utf-8",
                "text/plain",
                "",
            ]),
            body in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let ct = Some(content_type).filter(|c| !c.is_empty());
            match parse_body(ct, &body) {
                Ok(params) => prop_assert!(params.pairs().iter().all(|(_, v)| !v.contains('\0'))),
                Err(e) => prop_assert!(matches!(e.status.as_u16(), 400 | 415), "{}", e),
            }
        }
    }

    #[test]
    fn percent_encoded_nul_and_latin1_are_refused() {
        for body in [&b"Body=a%00b"[..], b"Body=caf%E9", b"Body=%C3", b"Body=%ED%A0%80", b"%FF=x"] {
            assert_eq!(parse_body(FORM, body).unwrap_err().status.as_u16(), 400, "{body:?}");
        }
        // What only looks like an escape is kept as it is.
        assert_eq!(
            parse_body(FORM, b"Body=100%25+%zz%e2%82%ac").unwrap().get("Body"),
            Some("100% %zz€")
        );
    }
}
