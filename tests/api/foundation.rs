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

#[tokio::test]
async fn every_anonymous_caller_gets_the_same_root_and_a_signed_in_caller_gets_their_own() {
    let app = spawn_app().await;
    let get = |accept: &'static str| app.request(reqwest::Method::GET, "/").header("Accept", accept).send();
    // The same representation, byte for byte and by ETag, each time and in each format.
    let mut tags = Vec::new();
    for accept in [
        "application/json",
        "application/hal+json",
        "application/prs.hal-forms+json",
        "text/html",
    ] {
        let first = get(accept).await.unwrap();
        assert_eq!(first.status(), StatusCode::OK, "{accept}");
        let tag = first.headers()["etag"].to_str().unwrap().to_owned();
        let links = first.headers()["link"].to_str().unwrap().to_owned();
        let body = first.text().await.unwrap();
        let again = get(accept).await.unwrap();
        assert_eq!(again.headers()["etag"].to_str().unwrap(), tag, "{accept}");
        assert_eq!(again.text().await.unwrap(), body, "{accept}");
        // A revalidation answers 304 and still says where to go.
        let fresh = app
            .request(reqwest::Method::GET, "/")
            .header("Accept", accept)
            .header("If-None-Match", &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED, "{accept}");
        assert_eq!(fresh.headers()["etag"].to_str().unwrap(), tag);
        assert_eq!(fresh.headers()["link"].to_str().unwrap(), links);
        assert!(links.contains(r#"rel="accounts""#), "{links}");
        tags.push(tag);
    }
    tags.dedup();
    assert_eq!(tags.len(), 4, "each format has its own ETag: {tags:?}");

    // A signed-in caller's root names their account; it is not the shared one, and the shared one
    // does not learn it.
    let who = app.create_account("root viewer").await;
    let mine = app.get_as(&who, "/").await;
    let mine_tag = mine.headers()["etag"].to_str().unwrap().to_owned();
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine["subresource_uris"]["account"], who.uri.as_str());
    assert_ne!(mine_tag, tags[0]);
    let anonymous: Value = app.get("/").await.json().await.unwrap();
    assert!(anonymous["subresource_uris"].get("account").is_none(), "{anonymous}");
}
