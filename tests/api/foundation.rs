//! The foundation walk: from `/` by relations only.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn root_advertises_accounts_sessions_and_messages() {
    // Arrange
    let app = spawn_app().await;
    // Act
    let res = app.get("/").await;
    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], "signpost");
    assert_eq!(body["uri"], "/");
    for r in ["accounts", "sessions", "messages"] {
        assert!(body["subresource_uris"][r].is_string(), "root lacks {r}");
    }
    assert_hypermedia(&headers, &body);
}

#[tokio::test]
async fn an_account_created_from_the_root_survives_a_restart() {
    let app = spawn_app().await;
    let acct = app.create_account("restart me").await;
    let app = app.restart().await;
    let res = app.get_as(&acct, &acct.uri).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["friendly_name"], "restart me");
    assert!(body.get("auth_token").is_none(), "the token is shown only once");
}
