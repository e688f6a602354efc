//! Browser forms (issue 5): a cookie-signed-in form post is accepted only from the server's own
//! pages (strict Origin check); `_method` turns a form POST into DELETE/PUT/PATCH, and only a
//! form POST.
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const HTML: &str = "text/html";
const FORM: &str = "application/x-www-form-urlencoded";

/// Signs in through the sessions form as a browser does; returns the `Cookie` header to send.
async fn browser_sign_in(app: &TestApp, who: &TestAccount) -> String {
    let sessions = rel(&app.root().await, "sessions");
    let res = app
        .request(Method::POST, &sessions)
        .header("accept", HTML)
        .header("origin", &app.base)
        .form(&[("AccountSid", who.sid.as_str()), ("AuthToken", who.token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "sign-in: {}",
        res.status()
    );
    let set = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("signpost_session="))
        .expect("the sign-in sets the session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "cookie has {attribute}: {set}");
    }
    set.split(';').next().unwrap().to_owned()
}

/// A form post with the browser's cookie and the given Origin (None: no Origin, no Sec-Fetch-Site).
async fn form_post(app: &TestApp, cookie: &str, uri: &str, origin: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .request(Method::POST, uri)
        .header("cookie", cookie)
        .header("accept", HTML)
        .header("content-type", FORM)
        .body(serde_urlencoded::to_string(form).unwrap());
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    req.send().await.unwrap()
}

async fn message_count(app: &TestApp, who: &TestAccount) -> usize {
    let uri = app.messages_uri(who).await;
    let (_, _, page) = get_json(app, who, &uri).await;
    sids_of(&page, "messages").len()
}

#[tokio::test]
async fn a_cookie_signed_form_post_from_another_origin_or_without_origin_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let me = app.create_account("browser").await;
    let cookie = browser_sign_in(&app, &me).await;
    let messages = app.messages_uri(&me).await;
    let form = [("To", "+15005550006"), ("From", "+15551234567"), ("Body", "forged?")];

    // Act
    let foreign = form_post(&app, &cookie, &messages, Some("https://evil.example"), &form).await;
    let anonymous_origin = form_post(&app, &cookie, &messages, None, &form).await;

    // Assert: refused in the error shape, and nothing was sent.
    for res in [foreign, anonymous_origin] {
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let page = res.text().await.unwrap();
        assert!(page.contains("20403"), "the error page names its code");
    }
    assert_eq!(message_count(&app, &me).await, 0, "no forged message was created");

    // The same post from the server's own page goes through (Post/Redirect/Get for browsers).
    let own = form_post(&app, &cookie, &messages, Some(&app.base), &form).await;
    assert!(
        own.status() == StatusCode::SEE_OTHER || own.status() == StatusCode::CREATED,
        "same-origin form post: {}",
        own.status()
    );
    assert_eq!(message_count(&app, &me).await, 1);
}

#[tokio::test]
async fn basic_credentials_cannot_be_used_from_another_sites_form() {
    // Arrange
    let app = spawn_app().await;
    let me = app.create_account("basic").await;
    let messages = app.messages_uri(&me).await;

    // Act
    let res = app
        .request(Method::POST, &messages)
        .basic_auth(&me.sid, Some(&me.token))
        .header("origin", "https://evil.example")
        .form(&[("To", "+15005550006"), ("From", "+15551234567"), ("Body", "forged?")])
        .send()
        .await
        .unwrap();

    // Assert
    assert_error(res, StatusCode::FORBIDDEN, 20403).await;
    assert_eq!(message_count(&app, &me).await, 0);
}

#[tokio::test]
async fn method_override_works_for_same_origin_form_posts_only() {
    // Arrange
    let app = spawn_app().await;
    let me = app.create_account("override").await;
    let cookie = browser_sign_in(&app, &me).await;
    let sent = app
        .send_message(&me, &[("To", "+15005550006"), ("From", "+15551234567"), ("Body", "delete me")])
        .await;
    let uri = uri_of(&sent);
    wait_for_status(&app, &me, &uri, &["delivered"], std::time::Duration::from_secs(20)).await;
    let delete = with_query(&app, &uri, &[("_method", "DELETE")]);

    // Act: a JSON POST with ?_method=DELETE is a POST (an update), not a delete.
    let json = app
        .request(Method::POST, &delete)
        .basic_auth(&me.sid, Some(&me.token))
        .json(&serde_json::json!({"Body": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK, "treated as the POST it is (a redaction)");
    let (status, _, body) = get_json(&app, &me, &uri).await;
    assert_eq!(status, StatusCode::OK, "still there");
    assert_eq!(body["body"], Value::String(String::new()));

    // A form post from another origin with _method=DELETE is refused.
    let forged = form_post(&app, &cookie, &delete, Some("https://evil.example"), &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(get_json(&app, &me, &uri).await.0, StatusCode::OK, "still there");

    // The page's own delete form works.
    let own = form_post(&app, &cookie, &delete, Some(&app.base), &[]).await;
    assert!(
        own.status().is_redirection() || own.status() == StatusCode::NO_CONTENT,
        "{}",
        own.status()
    );
    assert_eq!(get_json(&app, &me, &uri).await.0, StatusCode::NOT_FOUND, "deleted");
}
