//! The browser side (issue 5): signing in with the session cookie, the CSRF Origin check on
//! cookie-authenticated form posts, the `_method` override (form posts only), Post/Redirect/Get
//! for browsers, and the 401 page. Requests are built the way Chromium sends a form: urlencoded
//! body, `Accept: text/html…`, and an `Origin` header (or, for the attacks, a foreign one or none).
use crate::helpers::*;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A form post as a browser sends it, with an optional `Origin` and session cookie.
async fn form_post(app: &TestApp, uri: &str, form: &[(&str, &str)], origin: Option<&str>, cookie: Option<&str>) -> Response {
    let mut req = app.request(Method::POST, uri).header("accept", BROWSER_ACCEPT).form(form);
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await.unwrap()
}

/// A page fetched with the session cookie.
async fn get_page(app: &TestApp, uri: &str, cookie: &str) -> Response {
    app.request(Method::GET, uri)
        .header("accept", BROWSER_ACCEPT)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn set_cookie(res: &Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("signpost_session="))
        .unwrap_or_else(|| panic!("no session cookie set: {:?}", res.headers()))
}

fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location: {:?}", res.headers()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Signs in through the sessions form, as the browser does; returns the `Cookie` header value
/// and the session page the browser is sent to.
async fn browser_sign_in(app: &TestApp, who: &TestAccount) -> (String, String) {
    let sessions = rel(&app.root().await, "sessions");
    let res = form_post(
        app,
        &sessions,
        &[("AccountSid", &who.sid), ("AuthToken", &who.token)],
        Some(&app.base),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a browser's sign-in is answered 303");
    let cookie = set_cookie(&res);
    let pair = cookie.split(';').next().unwrap().to_owned();
    (pair, location(&res))
}

async fn message_count(app: &TestApp, who: &TestAccount) -> usize {
    let uri = app.messages_uri(who).await;
    let (status, _, page) = get_json(app, who, &uri).await;
    assert_eq!(status, StatusCode::OK);
    sids_of(&page, "messages").len()
}

#[tokio::test]
async fn a_browser_sign_in_sets_an_http_only_strict_cookie_and_redirects_to_the_session() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("browser").await;
    let sessions = rel(&app.root().await, "sessions");

    // Act
    let res = form_post(
        &app,
        &sessions,
        &[("AccountSid", &acct.sid), ("AuthToken", &acct.token)],
        Some(&app.base),
        None,
    )
    .await;

    // Assert
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&res);
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == attr), "{attr} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "no Secure over plain http: {cookie}");
    let session = location(&res);
    let page = get_page(&app, &session, cookie.split(';').next().unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("Signed in as <code>{}</code>", acct.sid)), "{html}");
    assert!(html.contains(r#"data-action="sign-out""#), "the session page offers sign-out");
}

#[tokio::test]
async fn a_cookie_form_post_from_a_foreign_origin_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("victim").await;
    let (cookie, _) = browser_sign_in(&app, &acct).await;
    let messages = app.messages_uri(&acct).await;
    let form = [("To", "+15005550006"), ("From", "+15017122661"), ("Body", "forged")];

    // Act
    let foreign = app
        .request(Method::POST, &messages)
        .header("origin", "http://evil.example")
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    let foreign_page = form_post(&app, &messages, &form, Some("http://evil.example"), Some(&cookie)).await;

    // Assert
    assert_error(foreign, StatusCode::FORBIDDEN, 20403).await;
    assert_eq!(foreign_page.status(), StatusCode::FORBIDDEN);
    assert!(foreign_page.text().await.unwrap().contains("error 20403"));
    assert_eq!(message_count(&app, &acct).await, 0, "nothing was sent");
}

#[tokio::test]
async fn basic_credentials_cannot_be_used_from_another_sites_form() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("basic").await;
    let messages = app.messages_uri(&acct).await;

    // Act
    let res = app
        .request(Method::POST, &messages)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("origin", "https://evil.example")
        .form(&[("To", "+15005550006"), ("From", "+15017122661"), ("Body", "forged")])
        .send()
        .await
        .unwrap();

    // Assert
    assert_error(res, StatusCode::FORBIDDEN, 20403).await;
    assert_eq!(message_count(&app, &acct).await, 0);
}

#[tokio::test]
async fn a_cookie_form_post_without_origin_or_referer_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("victim").await;
    let (cookie, session) = browser_sign_in(&app, &acct).await;
    let messages = app.messages_uri(&acct).await;
    let form = [("To", "+15005550006"), ("From", "+15017122661"), ("Body", "forged")];

    // Act
    let bare = app
        .request(Method::POST, &messages)
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    let cross_site = app
        .request(Method::POST, &messages)
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    let sign_out = app
        .request(Method::DELETE, &session)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();

    // Assert
    assert_error(bare, StatusCode::FORBIDDEN, 20403).await;
    assert_error(cross_site, StatusCode::FORBIDDEN, 20403).await;
    assert_error(sign_out, StatusCode::FORBIDDEN, 20403).await;
    assert_eq!(message_count(&app, &acct).await, 0, "nothing was sent");
    assert_eq!(get_page(&app, &session, &cookie).await.status(), StatusCode::OK, "still signed in");
}

#[tokio::test]
async fn the_same_origin_cookie_form_post_succeeds_and_redirects_to_the_new_message() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("sender").await;
    let (cookie, _) = browser_sign_in(&app, &acct).await;
    let messages = app.messages_uri(&acct).await;

    // Act
    let res = form_post(
        &app,
        &messages,
        &[
            ("To", "+15005550006"),
            ("From", "+15017122661"),
            ("Body", "hi <there>"),
            ("ScheduleType", ""),
        ],
        Some(&app.base),
        Some(&cookie),
    )
    .await;

    // Assert: Post/Redirect/Get, so that reloading the page does not send again.
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let message = location(&res);
    let page = get_page(&app, &message, &cookie).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("hi &lt;there&gt;"), "the body, escaped: {html}");
    assert_eq!(message_count(&app, &acct).await, 1);
    let (status, _, body) = get_json(&app, &acct, &message).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["body"], "hi <there>");
}

#[tokio::test]
async fn method_override_is_honoured_only_on_form_posts() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("override").await;
    let form = [("To", "+15005550006"), ("From", "+15017122661"), ("Body", "x")];
    let by_form = uri_of(&app.send_message(&acct, &form).await);
    let by_json = uri_of(&app.send_message(&acct, &form).await);
    let by_get = uri_of(&app.send_message(&acct, &form).await);
    wait_for_status(&app, &acct, &by_form, &["delivered"], std::time::Duration::from_secs(10)).await;

    // Act
    let form_post = app
        .request(Method::POST, &format!("{by_form}?_method=DELETE"))
        .basic_auth(&acct.sid, Some(&acct.token))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    let json_post = app
        .request(Method::POST, &format!("{by_json}?_method=DELETE"))
        .basic_auth(&acct.sid, Some(&acct.token))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    let get = app.get_as(&acct, &format!("{by_get}?_method=DELETE")).await;
    let foreign = app
        .request(Method::POST, &format!("{by_get}?_method=DELETE"))
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("origin", "https://evil.example")
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(form_post.status(), StatusCode::NO_CONTENT, "a form post carries DELETE");
    assert_eq!(get_json(&app, &acct, &by_form).await.0, StatusCode::NOT_FOUND);
    // The JSON post stays a POST (an update with nothing to update), and the GET stays a GET.
    assert_error(json_post, StatusCode::BAD_REQUEST, 30400).await;
    assert_eq!(get.status(), StatusCode::OK);
    assert_error(foreign, StatusCode::FORBIDDEN, 20403).await;
    for uri in [&by_json, &by_get] {
        assert_eq!(get_json(&app, &acct, uri).await.0, StatusCode::OK, "{uri} still exists");
    }
}

#[tokio::test]
async fn signing_out_from_the_browser_clears_the_cookie_and_redirects_to_the_root() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("leaver").await;
    let (cookie, session) = browser_sign_in(&app, &acct).await;
    let messages = app.messages_uri(&acct).await;

    // Act
    let res = form_post(&app, &format!("{session}?_method=DELETE"), &[], Some(&app.base), Some(&cookie)).await;

    // Assert
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), uri_of(&app.root().await));
    let cleared = set_cookie(&res);
    assert!(
        cleared.starts_with("signpost_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = get_page(&app, &messages, &cookie).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "the old cookie no longer works");
}

#[tokio::test]
async fn a_401_page_offers_sign_in_and_sign_up_without_a_basic_challenge() {
    // Arrange
    let app = spawn_app().await;
    let accounts = rel(&app.root().await, "accounts");

    // Act
    let page = app
        .request(Method::GET, &accounts)
        .header("accept", BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    let json = app.get(&accounts).await;

    // Assert: a Basic challenge would make the browser show its own login dialog (and keep
    // sending those credentials, so signing out could not work); the page has the form instead.
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    let challenge = page.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(!challenge.to_ascii_lowercase().starts_with("basic"), "{challenge}");
    let html = page.text().await.unwrap();
    let sessions = rel(&app.root().await, "sessions");
    assert!(html.contains(r#"data-action="sign-in""#), "{html}");
    assert!(html.contains(r#"data-action="create-account""#), "{html}");
    let main = html.split("<main>").nth(1).expect("a <main>");
    let sign_in_link = format!(
        r#"<a rel="sessions" href="{}" class="mono">Sign in</a>"#,
        sessions.replace('/', "&#x2f;")
    );
    assert!(main.contains(&sign_in_link), "{main}");
    assert!(html.contains("&#x2f;docs&#x2f;errors&#x2f;20003"), "more_info link: {html}");
    // API clients still get the Basic challenge.
    let headers = json.headers().clone();
    assert_error(json, StatusCode::UNAUTHORIZED, 20003).await;
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with(r#"Basic realm="signpost""#));
}

#[tokio::test]
async fn the_new_account_page_shows_its_token_once_with_the_sign_in_form_filled_in() {
    // Arrange
    let app = spawn_app().await;
    let accounts = rel(&app.root().await, "accounts");

    // Act
    let res = form_post(&app, &accounts, &[("FriendlyName", "Page")], Some(&app.base), None).await;

    // Assert: not redirected, since the token cannot be shown again.
    assert_eq!(res.status(), StatusCode::CREATED);
    let account = location(&res);
    let html = res.text().await.unwrap();
    assert!(html.contains("only time the auth token is shown"), "{html}");
    let sid = account.rsplit('/').next().unwrap().trim_end_matches(".json").to_owned();
    assert!(
        html.contains(&format!(r#"name="AccountSid" value="{sid}""#)),
        "sign-in form pre-filled: {html}"
    );
    let token_row = html.split(r#"auth_token</th><td class="secret">"#).nth(1).expect("auth_token row");
    let token = &token_row[..token_row.find('<').unwrap()];
    assert!(token.len() >= 32, "{token}");
    let who = TestAccount {
        sid: sid.clone(),
        token: token.to_owned(),
        uri: account.clone(),
        body: Value::Null,
    };
    assert_eq!(get_json(&app, &who, &account).await.0, StatusCode::OK, "the shown token works");
}

#[tokio::test]
async fn a_foreign_sites_form_cannot_sign_a_browser_in_or_create_accounts() {
    // Arrange: the attacker's own account, whose credentials the foreign form carries.
    let app = spawn_app().await;
    let attacker = app.create_account("attacker").await;
    let root = app.root().await;
    let (sessions, accounts) = (rel(&root, "sessions"), rel(&root, "accounts"));
    let sign_in = [("AccountSid", attacker.sid.as_str()), ("AuthToken", attacker.token.as_str())];

    // Act
    let foreign_sign_in = form_post(&app, &sessions, &sign_in, Some("https://evil.example"), None).await;
    let foreign_signup = form_post(&app, &accounts, &[("FriendlyName", "planted")], Some("https://evil.example"), None).await;
    let cross_site_no_origin = app
        .request(Method::POST, &sessions)
        .header("accept", BROWSER_ACCEPT)
        .header("sec-fetch-site", "cross-site")
        .form(&sign_in)
        .send()
        .await
        .unwrap();
    let own_page = form_post(&app, &sessions, &sign_in, Some(&app.base), None).await;

    // Assert: refused in the contract's shape, and no cookie was set; the server's own page still signs in.
    for (what, res) in [
        ("foreign sign-in", foreign_sign_in),
        ("cross-site sign-in without Origin", cross_site_no_origin),
    ] {
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(res.headers().get("set-cookie").is_none(), "{what} set a cookie");
        assert!(res.text().await.unwrap().contains("error 20403"), "{what}");
    }
    assert_eq!(foreign_signup.status(), StatusCode::FORBIDDEN);
    assert_eq!(own_page.status(), StatusCode::SEE_OTHER);
    set_cookie(&own_page);
    // A client that is not a browser (no Origin, no Sec-Fetch-Site) signs in as before.
    let api = app.request(Method::POST, &sessions).form(&sign_in).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_origin_named_in_cors_origins_may_post_forms_without_credentials() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    config.cors_origins = vec!["https://front.example".into()];
    let app = spawn_with(dir, config).await;
    let accounts = rel(&app.root().await, "accounts");
    let own_front = form_post(
        &app,
        &accounts,
        &[("FriendlyName", "from my front end")],
        Some("https://front.example"),
        None,
    )
    .await;
    let other = form_post(&app, &accounts, &[("FriendlyName", "planted")], Some("https://evil.example"), None).await;
    assert!(
        own_front.status().is_success() || own_front.status().is_redirection(),
        "{}",
        own_front.status()
    );
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
}
