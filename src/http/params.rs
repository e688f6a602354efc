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

fn parse_form(bytes: &[u8]) -> Result<Params, String> {
    if std::str::from_utf8(bytes).is_err() {
        return Err("it is not valid UTF-8".into());
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

fn scalar(name: &str, v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        Value::String(s) if s.contains('\0') => Err(ApiError::bad_request(format!("Parameter '{name}' contains a NUL character"))),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Null => Ok(None),
        _ => Err(ApiError::bad_request(format!(
            "Parameter '{name}' must be a string, number or boolean (or, where it may repeat, a list of them)"
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

/// Reads the body up to the configured limit (413 past it).
pub async fn read_body(limit: usize, payload: &mut Payload) -> Result<web::Bytes, ApiError> {
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
}

impl FromRequest for Params {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Params, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.body_limit)
            .unwrap_or(64 * 1024);
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
            let bytes = read_body(limit, &mut payload).await?;
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
