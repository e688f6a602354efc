//! Accounts and sessions (issue 2, CONTRACT §4, §6, §7): sign-up, sub-accounts, visibility,
//! closing, sessions and bearer tokens, malformed credentials, open sign-up off, secrets at rest.
//! Every URI is reached from `/` by relations, `Location` or a representation's `uri`.
use crate::helpers::*;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn creating_an_account_answers_201_with_its_location_and_its_auth_token_once() {
    // Arrange
    let app = spawn_app().await;
    let accounts = rel(&app.root().await, "accounts");

    // Act
    let res = app
        .request(Method::POST, &accounts)
        .form(&[("FriendlyName", "Ada")])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), StatusCode::CREATED);
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    assert_hypermedia(&headers, &body);
    let location = headers.get("location").expect("Location on 201").to_str().unwrap();
    assert_eq!(location, body["uri"].as_str().unwrap(), "Location is the new account's uri");
    assert!(is_sid(body["sid"].as_str().unwrap(), "AC"), "sid format: {}", body["sid"]);
    assert_eq!(body["friendly_name"], "Ada");
    assert_eq!(body["status"], "active");
    let token = body["auth_token"].as_str().expect("auth_token in the creating response");
    assert!(token.len() >= 32, "auth token is long enough: {token}");
    assert!(body["subresource_uris"]["messages"].is_string());
    assert!(body["subresource_uris"]["sessions"].is_string());

    // The token is never shown again: not on fetch, not in the list.
    let acct = TestAccount {
        sid: body["sid"].as_str().unwrap().into(),
        token: token.into(),
        uri: location.into(),
        body: body.clone(),
    };
    let fetched: Value = app.get_as(&acct, location).await.json().await.unwrap();
    assert!(fetched.get("auth_token").is_none(), "fetch must not show the token: {fetched}");
    let listed = app.get_as(&acct, &accounts).await.text().await.unwrap();
    assert!(!listed.contains(token), "the list must not show the token");
}

#[tokio::test]
async fn an_account_is_fetched_and_listed_with_basic_credentials_and_not_without() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("Basic Bob").await;
    let accounts = rel(&app.root().await, "accounts");

    // Act
    let fetched = app.get_as(&acct, &acct.uri).await;
    let listed = app.get_as(&acct, &accounts).await;
    let anonymous = app.get(&acct.uri).await;

    // Assert
    assert_eq!(fetched.status(), StatusCode::OK);
    let headers = fetched.headers().clone();
    let body: Value = fetched.json().await.unwrap();
    assert_hypermedia(&headers, &body);
    assert_eq!(body["sid"], acct.sid.as_str());
    assert_eq!(body["uri"], acct.uri.as_str());
    assert_eq!(body["friendly_name"], "Basic Bob");
    assert!(body["date_created"].is_string() && body["date_updated"].is_string());

    assert_eq!(listed.status(), StatusCode::OK);
    let headers = listed.headers().clone();
    let list: Value = listed.json().await.unwrap();
    assert_hypermedia(&headers, &list);
    assert_eq!(list["meta"]["key"], "accounts");
    assert_eq!(sids(&list, "accounts"), vec![acct.sid.clone()]);

    assert_error(anonymous, StatusCode::UNAUTHORIZED, 20003).await;
}

#[tokio::test]
async fn the_account_list_shows_the_caller_and_its_sub_accounts_and_nobody_else() {
    // Arrange
    let app = spawn_app().await;
    let parent = app.create_account("parent").await;
    let stranger = app.create_account("stranger").await;
    let accounts = rel(&app.root().await, "accounts");

    // Act: an authenticated POST on `accounts` creates a sub-account.
    let res = app.post_form_as(&parent, &accounts, &[("FriendlyName", "child")]).await;

    // Assert
    assert_eq!(res.status(), StatusCode::CREATED);
    let child: Value = res.json().await.unwrap();
    assert_eq!(child["owner_account_sid"], parent.sid.as_str(), "the parent owns the sub-account");
    assert!(child["auth_token"].is_string());
    let child_sid = child["sid"].as_str().unwrap().to_owned();
    let list: Value = app.get_as(&parent, &accounts).await.json().await.unwrap();
    let mut seen = sids(&list, "accounts");
    seen.sort();
    let mut expected = vec![parent.sid.clone(), child_sid];
    expected.sort();
    assert_eq!(seen, expected, "caller + sub-accounts, never {}", stranger.sid);
}

#[tokio::test]
async fn a_parent_sees_its_sub_account_but_the_sub_account_cannot_see_its_parent() {
    // Arrange
    let app = spawn_app().await;
    let parent = app.create_account("parent").await;
    let child = sub_account(&app, &parent, "child").await;

    // Act
    let parent_reads_child = app.get_as(&parent, &child.uri).await;
    let child_reads_parent = app.get_as(&child, &parent.uri).await;

    // Assert
    assert_eq!(parent_reads_child.status(), StatusCode::OK);
    let body: Value = parent_reads_child.json().await.unwrap();
    assert_eq!(body["sid"], child.sid.as_str());
    assert_eq!(body["owner_account_sid"], parent.sid.as_str());
    let err = assert_error(child_reads_parent, StatusCode::NOT_FOUND, 20404).await;
    assert!(
        !err.to_string().contains("parent"),
        "a 404 never shows the other account's data: {err}"
    );
}

#[tokio::test]
async fn another_accounts_resources_answer_404_in_the_error_shape_never_their_data() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.create_account("alice-secret-name").await;
    let mallory = app.create_account("mallory").await;
    let alice_messages = rel(&alice.body, "messages");

    // Act
    let account = app.get_as(&mallory, &alice.uri).await;
    let messages = app.get_as(&mallory, &alice_messages).await;
    let rename = app.post_form_as(&mallory, &alice.uri, &[("FriendlyName", "pwned")]).await;

    // Assert
    for res in [account, messages, rename] {
        let err = assert_error(res, StatusCode::NOT_FOUND, 20404).await;
        assert!(!err.to_string().contains("alice-secret-name"), "no data leaks: {err}");
    }
    let still: Value = app.get_as(&alice, &alice.uri).await.json().await.unwrap();
    assert_eq!(still["friendly_name"], "alice-secret-name", "mallory changed nothing");
}

#[tokio::test]
async fn an_account_is_renamed_with_friendly_name() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("old name").await;

    // Act
    let res = app.post_form_as(&acct, &acct.uri, &[("FriendlyName", "new name")]).await;

    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    assert_hypermedia(&headers, &body);
    assert_eq!(body["friendly_name"], "new name");
    let fetched: Value = app.get_as(&acct, &acct.uri).await.json().await.unwrap();
    assert_eq!(fetched["friendly_name"], "new name");
}

#[tokio::test]
async fn a_closed_account_can_no_longer_authenticate() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("closing").await;
    let session = create_session_basic(&app, &acct).await;
    let bearer = session["token"].as_str().unwrap().to_owned();
    // Warm any credential cache first, so the test shows the cache is kept true.
    assert_eq!(app.get_as(&acct, &acct.uri).await.status(), StatusCode::OK);
    assert_eq!(get_bearer(&app, &bearer, &acct.uri).await.status(), StatusCode::OK);

    // Act
    let res = app.post_form_as(&acct, &acct.uri, &[("Status", "closed")]).await;

    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "closed");
    assert_error(app.get_as(&acct, &acct.uri).await, StatusCode::UNAUTHORIZED, 20003).await;
    assert_error(get_bearer(&app, &bearer, &acct.uri).await, StatusCode::UNAUTHORIZED, 20003).await;
    let sessions = rel(&app.root().await, "sessions");
    let sign_in = app
        .request(Method::POST, &sessions)
        .basic_auth(&acct.sid, Some(&acct.token))
        .send()
        .await
        .unwrap();
    assert_error(sign_in, StatusCode::UNAUTHORIZED, 20003).await;
}

#[tokio::test]
async fn an_invalid_status_is_a_400_with_code_20001() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("status").await;

    // Act
    let res = app.post_form_as(&acct, &acct.uri, &[("Status", "frozen")]).await;

    // Assert
    let err = assert_error(res, StatusCode::BAD_REQUEST, 20001).await;
    assert!(
        err["message"].as_str().unwrap().contains("Status"),
        "the message names the parameter: {err}"
    );
    let fetched: Value = app.get_as(&acct, &acct.uri).await.json().await.unwrap();
    assert_eq!(fetched["status"], "active");
}

#[tokio::test]
async fn signing_in_with_basic_answers_201_with_a_token_and_an_expiry() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("signer").await;
    let sessions = rel(&app.root().await, "sessions");

    // Act
    let res = app
        .request(Method::POST, &sessions)
        .basic_auth(&acct.sid, Some(&acct.token))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), StatusCode::CREATED);
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    assert_hypermedia(&headers, &body);
    assert_eq!(headers["location"].to_str().unwrap(), body["uri"].as_str().unwrap());
    assert!(is_sid(body["sid"].as_str().unwrap(), "US"), "session sid: {}", body["sid"]);
    assert_eq!(body["account_sid"], acct.sid.as_str());
    assert!(body["token"].as_str().is_some_and(|t| t.len() >= 22), "a bearer token: {body}");
    assert!(
        body["date_expires"].as_str().is_some_and(|d| d.ends_with("+0000")),
        "RFC 2822 date_expires: {body}"
    );
    assert!(body["date_created"].is_string());

    // The token is shown only in the creating response.
    let again: Value = app.get_as(&acct, body["uri"].as_str().unwrap()).await.json().await.unwrap();
    assert!(again.get("token").is_none(), "the token is shown once: {again}");
}

#[tokio::test]
async fn signing_in_with_account_sid_and_auth_token_works_as_form_and_as_json() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("fields").await;
    let sessions = rel(&app.root().await, "sessions");

    // Act
    let form = app
        .request(Method::POST, &sessions)
        .form(&[("AccountSid", acct.sid.as_str()), ("AuthToken", acct.token.as_str())])
        .send()
        .await
        .unwrap();
    let json = app
        .request(Method::POST, &sessions)
        .json(&json!({"AccountSid": acct.sid, "AuthToken": acct.token}))
        .send()
        .await
        .unwrap();

    // Assert
    for res in [form, json] {
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["account_sid"], acct.sid.as_str());
        let token = body["token"].as_str().unwrap();
        assert_eq!(get_bearer(&app, token, &acct.uri).await.status(), StatusCode::OK, "the token works");
    }
}

#[tokio::test]
async fn a_wrong_token_is_a_401_with_a_basic_challenge_and_a_link_to_sessions() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("wrong").await;
    let root = app.root().await;
    let sessions = rel(&root, "sessions");
    let wrong = TestAccount {
        token: "0".repeat(32),
        ..acct.clone()
    };

    // Act
    let on_account = app.get_as(&wrong, &acct.uri).await;
    let on_sessions = app
        .request(Method::POST, &sessions)
        .basic_auth(&acct.sid, Some("0".repeat(32)))
        .send()
        .await
        .unwrap();
    let with_fields = app
        .request(Method::POST, &sessions)
        .form(&[("AccountSid", acct.sid.as_str()), ("AuthToken", "nope")])
        .send()
        .await
        .unwrap();

    // Assert
    for res in [on_account, on_sessions, with_fields] {
        let headers = res.headers().clone();
        let err = assert_error(res, StatusCode::UNAUTHORIZED, 20003).await;
        let challenge = headers.get("www-authenticate").expect("WWW-Authenticate").to_str().unwrap();
        assert!(challenge.starts_with(r#"Basic realm="signpost""#), "challenge: {challenge}");
        assert_eq!(link(&headers, "sessions").as_deref(), Some(sessions.as_str()), "Link to sessions");
        assert_eq!(err["subresource_uris"]["sessions"], sessions.as_str());
        assert!(!err.to_string().contains(&acct.token), "the real token never appears");
    }
}

#[tokio::test]
async fn a_bearer_token_works_on_the_account_and_its_messages() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("bearer").await;
    let session = create_session_basic(&app, &acct).await;
    let token = session["token"].as_str().unwrap();

    // Act: follow the session's relations with the bearer token.
    let account = get_bearer(&app, token, &rel(&session, "account")).await;
    let messages = get_bearer(&app, token, &rel(&session, "messages")).await;
    let root = get_bearer(&app, token, "/").await;

    // Assert
    assert_eq!(account.status(), StatusCode::OK);
    let body: Value = account.json().await.unwrap();
    assert_eq!(body["sid"], acct.sid.as_str());
    assert_eq!(messages.status(), StatusCode::OK);
    let headers = messages.headers().clone();
    let list: Value = messages.json().await.unwrap();
    assert_hypermedia(&headers, &list);
    assert_eq!(list["meta"]["key"], "messages");
    assert!(list["messages"].as_array().unwrap().is_empty());
    let root: Value = root.json().await.unwrap();
    assert_eq!(rel(&root, "account"), acct.uri, "the root adds the caller's account");
    assert_eq!(rel(&root, "session"), session["uri"].as_str().unwrap(), "and the caller's session");
}

#[tokio::test]
async fn a_session_relates_to_its_account_and_its_messages() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("relations").await;

    // Act
    let session = create_session_basic(&app, &acct).await;
    let fetched = app.get_as(&acct, session["uri"].as_str().unwrap()).await;

    // Assert
    assert_eq!(rel(&session, "account"), acct.uri);
    assert_eq!(rel(&session, "messages"), rel(&acct.body, "messages"));
    assert_eq!(fetched.status(), StatusCode::OK);
    let headers = fetched.headers().clone();
    let body: Value = fetched.json().await.unwrap();
    assert_hypermedia(&headers, &body);
    assert_eq!(rel(&body, "account"), acct.uri);
    assert_eq!(rel(&body, "messages"), rel(&acct.body, "messages"));
    // The sessions collection lists it.
    let list: Value = app.get_as(&acct, &rel(&app.root().await, "sessions")).await.json().await.unwrap();
    assert_eq!(sids(&list, "sessions"), vec![session["sid"].as_str().unwrap().to_owned()]);
}

#[tokio::test]
async fn deleting_a_session_ends_its_bearer_token() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("sign-out").await;
    let session = create_session_basic(&app, &acct).await;
    let token = session["token"].as_str().unwrap();
    assert_eq!(get_bearer(&app, token, &acct.uri).await.status(), StatusCode::OK);

    // Act
    let res = app
        .request(Method::DELETE, session["uri"].as_str().unwrap())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().await.unwrap().is_empty());
    assert_error(get_bearer(&app, token, &acct.uri).await, StatusCode::UNAUTHORIZED, 20003).await;
    assert_error(
        app.get_as(&acct, session["uri"].as_str().unwrap()).await,
        StatusCode::NOT_FOUND,
        20404,
    )
    .await;
    // Basic credentials still work.
    assert_eq!(app.get_as(&acct, &acct.uri).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("durable").await;
    let session = create_session_basic(&app, &acct).await;
    let token = session["token"].as_str().unwrap().to_owned();

    // Act
    let app = app.restart().await;

    // Assert
    let res = get_bearer(&app, &token, &acct.uri).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sid"], acct.sid.as_str());
    assert_eq!(app.get_as(&acct, session["uri"].as_str().unwrap()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_authorization_headers_answer_401_never_500() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("malformed").await;
    let b64 = |s: &str| base64_encode(s.as_bytes());
    let bad = [
        "Basic !!!not-base64!!!".to_owned(),
        format!("Basic {}", b64("no-colon-here")),
        format!("Basic {}", b64(&acct.sid)),
        format!("Basic {}", b64("not-a-sid:whatever")),
        "Basic".to_owned(),
        "Digest username=\"x\"".to_owned(),
        "Token abc".to_owned(),
        "Bearer ".to_owned(),
        "Bearer".to_owned(),
        "Bearer sp_unknown".to_owned(),
        "garbage".to_owned(),
    ];

    for value in &bad {
        for uri in ["/", acct.uri.as_str()] {
            // Act
            let res = app
                .request(Method::GET, uri)
                .header("authorization", value.as_str())
                .send()
                .await
                .unwrap();

            // Assert
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{value:?} on {uri}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], 20003, "{value:?} on {uri}: {body}");
        }
    }
}

#[tokio::test]
async fn with_open_sign_up_off_only_an_authenticated_account_can_create_accounts() {
    // Arrange: a first account made while sign-up was open, then sign-up closed.
    let app = spawn_app().await;
    let owner = app.create_account("owner").await;
    let (dir, mut config) = app.stop().await;
    config.open_signup = false;
    config.bind = "127.0.0.1:0".into();
    let app = spawn_with(dir, config).await;
    let accounts = rel(&app.root().await, "accounts");

    // Act
    let anonymous = app
        .request(Method::POST, &accounts)
        .form(&[("FriendlyName", "walk-in")])
        .send()
        .await
        .unwrap();
    let authenticated = app.post_form_as(&owner, &accounts, &[("FriendlyName", "invited")]).await;

    // Assert
    let headers = anonymous.headers().clone();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, 20003).await;
    assert!(headers.contains_key("www-authenticate"));
    assert_eq!(authenticated.status(), StatusCode::CREATED);
    let body: Value = authenticated.json().await.unwrap();
    assert_eq!(body["owner_account_sid"], owner.sid.as_str());
}

#[tokio::test]
async fn with_open_sign_up_off_a_fresh_test_config_refuses_anonymous_sign_up() {
    // Arrange
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    config.open_signup = false;
    let app = spawn_with(dir, config).await;
    let root = app.root().await;

    // Act
    let res = app
        .request(Method::POST, &rel(&root, "accounts"))
        .form(&[("FriendlyName", "x")])
        .send()
        .await
        .unwrap();

    // Assert
    assert_error(res, StatusCode::UNAUTHORIZED, 20003).await;
}

#[tokio::test]
async fn neither_auth_tokens_nor_session_tokens_are_stored_in_the_clear() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("secrets").await;
    let session = create_session_basic(&app, &acct).await;
    let bearer = session["token"].as_str().unwrap().to_owned();
    assert_eq!(get_bearer(&app, &bearer, &acct.uri).await.status(), StatusCode::OK);

    // Act: the raw bytes, both while running (WAL) and after a clean stop.
    let running = database_bytes(&app);
    let (dir, _) = app.stop().await;
    let stopped = database_files_bytes(dir.path());

    // Assert
    for bytes in [running, stopped] {
        assert!(!bytes.is_empty(), "the database file exists");
        assert!(
            !contains(&bytes, acct.token.as_bytes()),
            "the auth token is in the database file in the clear"
        );
        assert!(
            !contains(&bytes, bearer.as_bytes()),
            "the session token is in the database file in the clear"
        );
    }
}

#[tokio::test]
async fn tokens_in_responses_replayed_by_idempotency_key_are_not_stored_in_the_clear() {
    // Arrange
    let app = spawn_app().await;
    let root = app.root().await;
    let key = "sign-up-once";

    // Act: sign up and sign in with Idempotency-Key (the stored first responses hold the tokens).
    let res = app
        .request(Method::POST, &rel(&root, "accounts"))
        .header("Idempotency-Key", key)
        .form(&[("FriendlyName", "idem")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let acct: Value = res.json().await.unwrap();
    let (sid, token) = (
        acct["sid"].as_str().unwrap().to_owned(),
        acct["auth_token"].as_str().unwrap().to_owned(),
    );
    let res = app
        .request(Method::POST, &rel(&root, "sessions"))
        .basic_auth(&sid, Some(&token))
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let bearer = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let replay = app
        .request(Method::POST, &rel(&root, "sessions"))
        .basic_auth(&sid, Some(&token))
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let replayed: Value = replay.json().await.unwrap();
    // Anonymous requests are not replayed: clients behind one address must never receive each
    // other's freshly created credentials.
    let anon = app
        .request(Method::POST, &rel(&root, "accounts"))
        .header("Idempotency-Key", key)
        .form(&[("FriendlyName", "idem")])
        .send()
        .await
        .unwrap();
    let anon: Value = anon.json().await.unwrap();
    let (dir, _) = app.stop().await;
    let bytes = database_files_bytes(dir.path());

    // Assert
    assert_eq!(replayed["token"], bearer.as_str(), "the replay answers the first response");
    assert_ne!(
        anon["sid"],
        sid.as_str(),
        "an anonymous sign-up is never replayed to another client"
    );
    assert!(
        !contains(&bytes, token.as_bytes()),
        "the auth token is in the database file in the clear"
    );
    assert!(
        !contains(&bytes, bearer.as_bytes()),
        "the session token is in the database file in the clear"
    );
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    // Arrange: sessions that live one second.
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    config.session_ttl = 1;
    let app = spawn_with(dir, config).await;
    let acct = app.create_account("short-lived").await;
    let session = create_session_basic(&app, &acct).await;
    let token = session["token"].as_str().unwrap().to_owned();
    assert_eq!(get_bearer(&app, &token, &acct.uri).await.status(), StatusCode::OK);

    // Act
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = get_bearer(&app, &token, &acct.uri).await;

    // Assert
    assert_error(res, StatusCode::UNAUTHORIZED, 20003).await;
    let list: Value = app.get_as(&acct, &rel(&app.root().await, "sessions")).await.json().await.unwrap();
    assert!(
        list["sessions"].as_array().unwrap().is_empty(),
        "expired sessions are not listed: {list}"
    );
}

#[tokio::test]
async fn a_parent_can_close_its_sub_account_which_then_cannot_authenticate() {
    // Arrange
    let app = spawn_app().await;
    let parent = app.create_account("parent").await;
    let child = sub_account(&app, &parent, "child").await;
    assert_eq!(app.get_as(&child, &child.uri).await.status(), StatusCode::OK);

    // Act
    let res = app.post_form_as(&parent, &child.uri, &[("Status", "closed")]).await;

    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    assert_error(app.get_as(&child, &child.uri).await, StatusCode::UNAUTHORIZED, 20003).await;
    assert_eq!(
        app.get_as(&parent, &parent.uri).await.status(),
        StatusCode::OK,
        "the parent is unaffected"
    );
    let seen: Value = app.get_as(&parent, &child.uri).await.json().await.unwrap();
    assert_eq!(seen["status"], "closed");
}

// ---- helpers local to this file ----

/// Whether `s` is a sid with `prefix`: 2 letters + 32 lowercase hex digits.
fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The `sid`s of a collection's items.
fn sids(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|i| i["sid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sub_accounts_are_one_level_deep_as_on_twilio() {
    // Arrange
    let app = spawn_app().await;
    let parent = app.create_account("parent").await;
    let child = sub_account(&app, &parent, "child").await;
    let accounts = rel(&app.root().await, "accounts");

    // Act
    let grandchild = app.post_form_as(&child, &accounts, &[("FriendlyName", "grandchild")]).await;

    // Assert: refused, and nothing was created under the child.
    assert_error(grandchild, StatusCode::FORBIDDEN, 20403).await;
    let (_, _, list) = get_json(&app, &parent, &accounts).await;
    assert_eq!(sids_of(&list, "accounts").len(), 2, "the parent and its one sub-account: {list}");
}

/// Creates a sub-account of `parent` by POSTing to `accounts` with the parent's credentials.
async fn sub_account(app: &TestApp, parent: &TestAccount, name: &str) -> TestAccount {
    let accounts = rel(&app.root().await, "accounts");
    let res = app.post_form_as(parent, &accounts, &[("FriendlyName", name)]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    TestAccount {
        sid: body["sid"].as_str().unwrap().into(),
        token: body["auth_token"].as_str().unwrap().into(),
        uri: body["uri"].as_str().unwrap().into(),
        body,
    }
}

/// Signs in with Basic by following the root's `sessions`; returns the new session (with `token`).
async fn create_session_basic(app: &TestApp, who: &TestAccount) -> Value {
    let sessions = rel(&app.root().await, "sessions");
    let res = app
        .request(Method::POST, &sessions)
        .basic_auth(&who.sid, Some(&who.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "session creation");
    res.json().await.unwrap()
}

/// GET with a bearer token.
async fn get_bearer(app: &TestApp, token: &str, uri: &str) -> Response {
    app.request(Method::GET, uri).bearer_auth(token).send().await.unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The database file and its WAL, as they are on disk now.
fn database_bytes(app: &TestApp) -> Vec<u8> {
    database_files_bytes(app.dir.path())
}

fn database_files_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(dir.join("signpost.db")).unwrap_or_default();
    for extra in ["signpost.db-wal", "signpost.db-journal"] {
        if let Ok(more) = std::fs::read(dir.join(extra)) {
            bytes.extend(more);
        }
    }
    bytes
}
