//! HTTP done fully (issue 4, CONTRACT §3, §6, §7): negotiation, HAL and HAL-FORMS, conditional
//! requests, HEAD/OPTIONS, 405/406/412/413/415, request ids, idempotency keys, problem+json and
//! rate limits. Table-driven over every kind of resource reached from `/` by relations.
use crate::helpers::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn every_resource_answers_json_by_default_and_for_any_type() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        for accept in [None, Some("*/*"), Some("application/json"), Some("application/*")] {
            // Act
            let mut req = t.request(&app, Method::GET);
            if let Some(a) = accept {
                req = req.header("accept", a);
            }
            let res = req.send().await.unwrap();

            // Assert
            assert_eq!(res.status(), StatusCode::OK, "{} with {accept:?}", t.name);
            assert!(
                content_type(res.headers()).starts_with("application/json"),
                "{} with {accept:?}: {}",
                t.name,
                content_type(res.headers())
            );
            let headers = res.headers().clone();
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["uri"], t.uri.as_str(), "{}", t.name);
            assert_hypermedia(&headers, &body);
        }
    }
}

#[tokio::test]
async fn hal_links_self_to_the_uri_and_embeds_collection_items() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        // Act
        let res = t
            .request(&app, Method::GET)
            .header("accept", "application/hal+json")
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(res.status(), StatusCode::OK, "{}", t.name);
        assert!(content_type(res.headers()).starts_with("application/hal+json"), "{}", t.name);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["_links"]["self"]["href"], body["uri"], "{}: {body}", t.name);
        assert_eq!(body["uri"], t.uri.as_str());
        for (name, target) in body["subresource_uris"].as_object().unwrap() {
            assert_eq!(&body["_links"][name]["href"], target, "{}: _links.{name}", t.name);
        }
        assert!(body.get("_templates").is_none(), "plain HAL has no templates ({})", t.name);
        if let Some(key) = t.items {
            let embedded = body["_embedded"][key]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no _embedded.{key} in {body}", t.name));
            assert!(!embedded.is_empty(), "{}: the collection has items", t.name);
            for item in embedded {
                assert_eq!(item["_links"]["self"]["href"], item["uri"], "{}: embedded self", t.name);
            }
        } else {
            assert!(body.get("_embedded").is_none(), "{}: only collections embed", t.name);
        }
    }
}

#[tokio::test]
async fn hal_forms_templates_describe_the_actions_each_resource_allows() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        // Act
        let res = t
            .request(&app, Method::GET)
            .header("accept", "application/prs.hal-forms+json")
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(res.status(), StatusCode::OK, "{}", t.name);
        assert!(
            content_type(res.headers()).starts_with("application/prs.hal-forms+json"),
            "{}",
            t.name
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["_links"]["self"]["href"], t.uri.as_str());
        let templates = body["_templates"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no _templates in {body}", t.name));
        for name in t.templates {
            let tpl = templates
                .get(*name)
                .unwrap_or_else(|| panic!("{}: no template {name} in {templates:?}", t.name));
            assert!(tpl["method"].is_string(), "{}: {name} has a method", t.name);
            assert!(tpl["properties"].is_array(), "{}: {name} has properties", t.name);
        }
    }

    // The message collection's default template sends a message: To and From required, with a regex.
    let messages = targets.iter().find(|t| t.name == "messages").unwrap();
    let body: Value = messages
        .request(&app, Method::GET)
        .header("accept", "application/prs.hal-forms+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let default = &body["_templates"]["default"];
    assert_eq!(default["method"], "POST");
    assert_eq!(default["target"], messages.uri.as_str());
    for field in ["To", "From"] {
        let p = default["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == field)
            .unwrap_or_else(|| panic!("no {field} in {default}"));
        assert_eq!(p["required"], true, "{field}");
        assert!(p["regex"].is_string(), "{field} has a regex");
    }
    // A message's redact template posts an empty Body to the message itself.
    let message = targets.iter().find(|t| t.name == "message").unwrap();
    let body: Value = message
        .request(&app, Method::GET)
        .header("accept", "application/prs.hal-forms+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["_templates"]["redact"]["target"], message.uri.as_str());
    assert_eq!(body["_templates"]["cancel"]["method"], "POST");
    assert_eq!(body["_templates"]["delete"]["method"], "DELETE");
}

#[tokio::test]
async fn a_template_disappears_when_the_state_no_longer_allows_its_action() {
    // Arrange
    let (app, acct, targets) = tour().await;
    let message = targets.iter().find(|t| t.name == "message").unwrap();

    // Act: cancel the scheduled message, and redact it.
    let res = app.post_form_as(&acct, &message.uri, &[("Status", "canceled")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.post_form_as(&acct, &message.uri, &[("Body", "")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = message
        .request(&app, Method::GET)
        .header("accept", "application/prs.hal-forms+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Assert
    assert_eq!(body["status"], "canceled");
    let templates = body["_templates"].as_object().unwrap();
    assert!(!templates.contains_key("cancel"), "no cancel once canceled: {templates:?}");
    assert!(!templates.contains_key("redact"), "no redact once redacted: {templates:?}");
    assert!(templates.contains_key("delete"));
}

#[tokio::test]
async fn html_is_a_browsable_page() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        // Act
        let res = t.request(&app, Method::GET).header("accept", "text/html").send().await.unwrap();

        // Assert
        assert_eq!(res.status(), StatusCode::OK, "{}", t.name);
        assert!(content_type(res.headers()).starts_with("text/html"), "{}", t.name);
        let page = res.text().await.unwrap();
        assert!(
            page.to_ascii_lowercase().starts_with("<!doctype html"),
            "{}: {}",
            t.name,
            &page[..page.len().min(200)]
        );
        assert!(page.contains("href="), "{}: links are clickable", t.name);
    }
}

#[tokio::test]
async fn the_vendor_type_version_1_is_json_and_an_unknown_version_is_406() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        // Act
        let v1 = t
            .request(&app, Method::GET)
            .header("accept", "application/vnd.signpost+json; version=1")
            .send()
            .await
            .unwrap();
        let v2 = t
            .request(&app, Method::GET)
            .header("accept", "application/vnd.signpost+json; version=2")
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(v1.status(), StatusCode::OK, "{}", t.name);
        assert!(
            content_type(v1.headers()).starts_with("application/vnd.signpost+json"),
            "{}",
            t.name
        );
        let body: Value = v1.json().await.unwrap();
        assert_eq!(body["uri"], t.uri.as_str());
        assert!(body["subresource_uris"].is_object());
        assert_error(v2, StatusCode::NOT_ACCEPTABLE, 20406).await;
    }
}

#[tokio::test]
async fn an_unavailable_type_is_406_with_a_json_body_listing_the_offer() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        // Act
        let res = t
            .request(&app, Method::GET)
            .header("accept", "application/xml")
            .send()
            .await
            .unwrap();

        // Assert
        assert!(
            content_type(res.headers()).starts_with("application/json"),
            "{}: errors are JSON whatever Accept said",
            t.name
        );
        let err = assert_error(res, StatusCode::NOT_ACCEPTABLE, 20406).await;
        let message = err["message"].as_str().unwrap();
        for offered in [
            "application/json",
            "application/hal+json",
            "application/prs.hal-forms+json",
            "text/html",
        ] {
            assert!(message.contains(offered), "{}: the offer lists {offered}: {message}", t.name);
        }
    }
}

#[tokio::test]
async fn quality_values_are_honoured() {
    // Arrange
    let (app, _, targets) = tour().await;
    let cases = [
        ("application/json;q=0.5, application/hal+json", "application/hal+json"),
        ("application/hal+json;q=0.1, application/json;q=0.9", "application/json"),
        (
            "application/json;q=0, application/prs.hal-forms+json;q=0.3",
            "application/prs.hal-forms+json",
        ),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("application/xml, application/hal+json;q=0.2", "application/hal+json"),
    ];

    for t in &targets {
        for (accept, expected) in cases {
            // Act
            let res = t.request(&app, Method::GET).header("accept", accept).send().await.unwrap();

            // Assert
            assert_eq!(res.status(), StatusCode::OK, "{}: {accept}", t.name);
            assert!(
                content_type(res.headers()).starts_with(expected),
                "{}: {accept} gave {}",
                t.name,
                content_type(res.headers())
            );
        }
        let refused = t
            .request(&app, Method::GET)
            .header("accept", "application/json;q=0")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE, "{}: q=0 means not this", t.name);
    }
}

#[tokio::test]
async fn responses_vary_on_accept_and_carry_cache_control() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        // Act
        let res = t.request(&app, Method::GET).send().await.unwrap();

        // Assert
        let vary = header(res.headers(), "vary").to_ascii_lowercase();
        assert!(vary.split(',').any(|v| v.trim() == "accept"), "{}: Vary {vary}", t.name);
        assert!(!header(res.headers(), "cache-control").is_empty(), "{}: Cache-Control", t.name);
        if t.who.is_some() {
            assert!(
                vary.contains("authorization"),
                "{}: authenticated responses vary on Authorization",
                t.name
            );
            assert!(
                header(res.headers(), "cache-control").contains("private"),
                "{}: authenticated responses are private",
                t.name
            );
        }
    }
}

#[tokio::test]
async fn an_etag_answers_if_none_match_with_304_also_in_weak_form() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        for accept in [
            "application/json",
            "application/hal+json",
            "application/prs.hal-forms+json",
            "text/html",
        ] {
            let res = t.request(&app, Method::GET).header("accept", accept).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let etag = header(res.headers(), "etag").to_owned();
            assert!(
                etag.starts_with('"') && etag.ends_with('"'),
                "{} {accept}: a strong ETag: {etag:?}",
                t.name
            );

            // Act
            let strong = t
                .request(&app, Method::GET)
                .header("accept", accept)
                .header("if-none-match", &etag)
                .send()
                .await
                .unwrap();
            let weak = t
                .request(&app, Method::GET)
                .header("accept", accept)
                .header("if-none-match", format!("W/{etag}"))
                .send()
                .await
                .unwrap();
            let listed = t
                .request(&app, Method::GET)
                .header("accept", accept)
                .header("if-none-match", format!("\"nope\", {etag}"))
                .send()
                .await
                .unwrap();
            let other = t
                .request(&app, Method::GET)
                .header("accept", accept)
                .header("if-none-match", "\"something-else\"")
                .send()
                .await
                .unwrap();

            // Assert
            for (what, res) in [("strong", strong), ("weak", weak), ("listed", listed)] {
                assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{} {accept} {what}", t.name);
                assert_eq!(header(res.headers(), "etag"), etag, "{} {accept}: a 304 repeats the ETag", t.name);
                assert!(res.bytes().await.unwrap().is_empty());
            }
            assert_eq!(
                other.status(),
                StatusCode::OK,
                "{} {accept}: another ETag gets the representation",
                t.name
            );
        }
        // Representations differ, so their ETags do too.
        let json = t
            .request(&app, Method::GET)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let hal = t
            .request(&app, Method::GET)
            .header("accept", "application/hal+json")
            .send()
            .await
            .unwrap();
        assert_ne!(
            header(json.headers(), "etag"),
            header(hal.headers(), "etag"),
            "{}: per-representation ETags",
            t.name
        );
    }
}

#[tokio::test]
async fn items_carry_last_modified_and_answer_if_modified_since_with_304() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in targets.iter().filter(|t| t.item) {
        let res = t.request(&app, Method::GET).send().await.unwrap();
        let last_modified = header(res.headers(), "last-modified").to_owned();
        assert!(last_modified.ends_with(" GMT"), "{}: an HTTP date: {last_modified:?}", t.name);

        // Act
        let res = t
            .request(&app, Method::GET)
            .header("if-modified-since", &last_modified)
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{}", t.name);
    }
}

#[tokio::test]
async fn head_answers_the_same_headers_as_get_without_a_body() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        for accept in ["application/json", "application/hal+json"] {
            let get = t.request(&app, Method::GET).header("accept", accept).send().await.unwrap();

            // Act
            let head = t.request(&app, Method::HEAD).header("accept", accept).send().await.unwrap();

            // Assert
            assert_eq!(head.status(), StatusCode::OK, "{} {accept}", t.name);
            for name in ["content-type", "etag", "link", "last-modified", "vary", "cache-control"] {
                assert_eq!(
                    header(head.headers(), name),
                    header(get.headers(), name),
                    "{} {accept}: {name}",
                    t.name
                );
            }
            assert!(head.bytes().await.unwrap().is_empty(), "{}: HEAD has no body", t.name);
        }
    }
}

#[tokio::test]
async fn options_answers_204_with_allow_and_cors() {
    // Arrange
    let (app, _, targets) = tour().await;

    for t in &targets {
        // Act
        let res = t
            .request(&app, Method::OPTIONS)
            .header("origin", "https://example.com")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{}", t.name);
        let allow = methods(header(res.headers(), "allow"));
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert!(allow.contains(&m.to_owned()), "{}: Allow {allow:?} lacks {m}", t.name);
        }
        for m in t.also_allows {
            assert!(allow.contains(&m.to_string()), "{}: Allow {allow:?} lacks {m}", t.name);
        }
        assert!(!header(res.headers(), "access-control-allow-origin").is_empty(), "{}: CORS", t.name);
        assert!(
            !header(res.headers(), "access-control-allow-methods").is_empty(),
            "{}: CORS methods",
            t.name
        );
        assert!(
            header(res.headers(), "access-control-expose-headers").contains("ETag"),
            "{}: exposes ETag",
            t.name
        );
        assert!(link(res.headers(), "self").is_some(), "{}: OPTIONS has a Link too", t.name);
        let get = t.request(&app, Method::GET).send().await.unwrap();
        assert_eq!(
            header(res.headers(), "link"),
            header(get.headers(), "link"),
            "{}: OPTIONS carries every relation GET does",
            t.name
        );
        assert!(res.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn options_allow_follows_the_callers_rights_and_the_resources_state() {
    // Arrange: a delivered message, an account and a sub-account that gets closed.
    let app = spawn_app().await;
    let acct = app.create_account("allow").await;
    let other = app.create_account("other").await;
    let sent = app
        .send_message(&acct, &[("To", "+15005550006"), ("From", "+15551234567"), ("Body", "hello")])
        .await;
    let message = uri_of(&sent);
    wait_for_status(&app, &acct, &message, &["delivered"], std::time::Duration::from_secs(20)).await;
    let allow_of = |who: Option<&TestAccount>, uri: String| {
        let mut req = app.request(Method::OPTIONS, &uri);
        if let Some(w) = who {
            req = req.basic_auth(&w.sid, Some(&w.token));
        }
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "OPTIONS {uri}");
            methods(header(res.headers(), "allow"))
        }
    };

    // Act + Assert: delivered, not yet redacted.
    let delivered = allow_of(Some(&acct), message.clone()).await;
    for m in ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(
            delivered.contains(&m.to_owned()),
            "delivered message: Allow {delivered:?} lacks {m}"
        );
    }
    let res = app
        .request(Method::POST, &message)
        .basic_auth(&acct.sid, Some(&acct.token))
        .form(&[("Body", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let redacted = allow_of(Some(&acct), message.clone()).await;
    for m in ["POST", "DELETE"] {
        assert!(
            redacted.contains(&m.to_owned()),
            "redacting again is harmless, deleting allowed: {redacted:?}"
        );
    }

    // A closed sub-account can no longer be renamed or reopened by its parent.
    let accounts = rel(&app.root().await, "accounts");
    let res = app.post_form_as(&acct, &accounts, &[("FriendlyName", "child")]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let child = uri_of(&res.json().await.unwrap());
    let open = allow_of(Some(&acct), child.clone()).await;
    assert!(open.contains(&"POST".to_owned()), "an open sub-account can be updated: {open:?}");
    let res = app.post_form_as(&acct, &child, &[("Status", "closed")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let closed = allow_of(Some(&acct), child.clone()).await;
    assert_eq!(closed, ["GET", "HEAD", "OPTIONS"], "a closed account is read-only");

    // Without credentials (a CORS preflight) the answer lists what the resource supports.
    let anonymous = allow_of(None, message.clone()).await;
    assert!(
        anonymous.contains(&"POST".to_owned()) && anonymous.contains(&"DELETE".to_owned()),
        "{anonymous:?}"
    );

    // Another account's message does not exist for this caller.
    let res = app
        .request(Method::OPTIONS, &message)
        .basic_auth(&other.sid, Some(&other.token))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, 20404).await;

    // An open account can be renamed or closed by its owner.
    let account = allow_of(Some(&acct), acct.uri.clone()).await;
    assert!(account.contains(&"POST".to_owned()), "an open account can be updated: {account:?}");
}

#[tokio::test]
async fn an_unsupported_method_is_405_with_allow() {
    // Arrange
    let (app, acct, targets) = tour().await;
    let root = targets.iter().find(|t| t.name == "root").unwrap();
    let accounts = targets.iter().find(|t| t.name == "accounts").unwrap();
    let sessions = targets.iter().find(|t| t.name == "sessions").unwrap();

    // Act
    let delete_root = app.request(Method::DELETE, &root.uri).send().await.unwrap();
    let put_accounts = app
        .request(Method::PUT, &accounts.uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .form(&[("FriendlyName", "x")])
        .send()
        .await
        .unwrap();
    let delete_sessions = app
        .request(Method::DELETE, &sessions.uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .send()
        .await
        .unwrap();
    let post_root = app.request(Method::POST, &root.uri).form(&[("a", "b")]).send().await.unwrap();

    // Assert
    for (what, res, must) in [
        ("DELETE root", delete_root, vec!["GET", "HEAD", "OPTIONS"]),
        ("PUT accounts", put_accounts, vec!["GET", "POST"]),
        ("DELETE sessions", delete_sessions, vec!["GET", "POST"]),
        ("POST root", post_root, vec!["GET"]),
    ] {
        let allow = methods(header(res.headers(), "allow"));
        assert!(!allow.is_empty(), "{what}: Allow header");
        for m in must {
            assert!(allow.contains(&m.to_owned()), "{what}: Allow {allow:?} lacks {m}");
        }
        let err = assert_error(res, StatusCode::METHOD_NOT_ALLOWED, 20405).await;
        assert!(!err["message"].as_str().unwrap().is_empty(), "{what}");
    }
}

#[tokio::test]
async fn a_stale_if_match_on_a_message_update_is_412_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("if-match").await;
    let message = scheduled_message(&app, &acct).await;
    let uri = message["uri"].as_str().unwrap();
    let res = app.get_as(&acct, uri).await;
    let stale = header(res.headers(), "etag").to_owned();
    let redact = app
        .request(Method::POST, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("if-match", &stale)
        .form(&[("Body", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(redact.status(), StatusCode::OK, "a matching If-Match passes");
    let fresh = header(redact.headers(), "etag").to_owned();
    assert_ne!(fresh, stale, "the ETag changes with the resource");

    // Act
    let res = app
        .request(Method::POST, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("if-match", &stale)
        .form(&[("Status", "canceled")])
        .send()
        .await
        .unwrap();

    // Assert
    let err = assert_error(res, StatusCode::PRECONDITION_FAILED, 20412).await;
    assert!(err["message"].as_str().unwrap().contains("If-Match"), "{err}");
    let now: Value = app.get_as(&acct, uri).await.json().await.unwrap();
    assert_eq!(now["status"], "scheduled", "the stale cancel changed nothing");
    assert_eq!(now["body"], "");
    // The fresh ETag (and a weak tag never) works.
    let weak = app
        .request(Method::POST, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("if-match", format!("W/{fresh}"))
        .form(&[("Status", "canceled")])
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::PRECONDITION_FAILED, "If-Match compares strongly");
    let ok = app
        .request(Method::POST, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("if-match", &fresh)
        .form(&[("Status", "canceled")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stale_if_match_on_delete_or_patch_is_412() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("if-match-delete").await;
    let message = scheduled_message(&app, &acct).await;
    let uri = message["uri"].as_str().unwrap();
    let stale = header(app.get_as(&acct, uri).await.headers(), "etag").to_owned();
    let redact = app
        .request(Method::PATCH, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .form(&[("Body", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(redact.status(), StatusCode::OK, "PATCH updates like Twilio's POST");

    // Act
    let patch = app
        .request(Method::PATCH, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("if-match", &stale)
        .form(&[("Status", "canceled")])
        .send()
        .await
        .unwrap();
    let delete = app
        .request(Method::DELETE, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("if-match", &stale)
        .send()
        .await
        .unwrap();

    // Assert
    assert_error(patch, StatusCode::PRECONDITION_FAILED, 20412).await;
    assert_error(delete, StatusCode::PRECONDITION_FAILED, 20412).await;
    assert_eq!(app.get_as(&acct, uri).await.status(), StatusCode::OK, "the message still exists");
    let fresh = header(app.get_as(&acct, uri).await.headers(), "etag").to_owned();
    let delete = app
        .request(Method::DELETE, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("if-match", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn two_clients_updating_with_the_same_etag_one_wins_and_the_other_gets_412() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("race").await;
    let message = scheduled_message(&app, &acct).await;
    let uri = message["uri"].as_str().unwrap().to_owned();
    let etag = header(app.get_as(&acct, &uri).await.headers(), "etag").to_owned();
    let other_client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let update = |client: &reqwest::Client, form: &'static [(&'static str, &'static str)]| {
        client
            .post(app.url(&uri))
            .basic_auth(&acct.sid, Some(&acct.token))
            .header("if-match", &etag)
            .form(form)
            .send()
    };

    // Act: one redacts, the other cancels, both from the same read.
    let (a, b) = tokio::join!(
        update(&app.client, &[("Body", "")]),
        update(&other_client, &[("Status", "canceled")])
    );

    // Assert
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 412], "exactly one wins");
    let winner_redacted = a.status() == StatusCode::OK;
    let now: Value = app.get_as(&acct, &uri).await.json().await.unwrap();
    if winner_redacted {
        assert_eq!(
            (now["body"].as_str(), now["status"].as_str()),
            (Some(""), Some("scheduled")),
            "{now}"
        );
    } else {
        assert_eq!(
            (now["body"].as_str(), now["status"].as_str()),
            (Some("hi"), Some("canceled")),
            "{now}"
        );
    }
}

#[tokio::test]
async fn an_unsupported_request_body_type_is_415_with_accept_post() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("types").await;
    let messages = app.messages_uri(&acct).await;
    let accounts = rel(&app.root().await, "accounts");

    for uri in [&messages, &accounts] {
        // Act
        let res = app
            .request(Method::POST, uri)
            .basic_auth(&acct.sid, Some(&acct.token))
            .header("content-type", "text/plain")
            .body("To=+15005550006&From=+15005550010&Body=hi")
            .send()
            .await
            .unwrap();

        // Assert
        let accept_post = header(res.headers(), "accept-post").to_owned();
        assert!(
            accept_post.contains("application/x-www-form-urlencoded") && accept_post.contains("application/json"),
            "{uri}: Accept-Post {accept_post:?}"
        );
        assert_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, 20415).await;
    }
    let list: Value = app.get_as(&acct, &messages).await.json().await.unwrap();
    assert!(list["messages"].as_array().unwrap().is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_json_body_with_the_same_names_creates_a_message() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("json").await;
    let messages = app.messages_uri(&acct).await;

    // Act
    let res = app
        .request(Method::POST, &messages)
        .basic_auth(&acct.sid, Some(&acct.token))
        .json(&serde_json::json!({"To": "+15005550006", "From": "+15005550010", "Body": "hi"}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["to"], "+15005550006");
    assert_eq!(body["body"], "hi");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    // Arrange
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    config.body_limit = 1024;
    let app = spawn_with(dir, config).await;
    let acct = app.create_account("big").await;
    let messages = app.messages_uri(&acct).await;
    let big = "x".repeat(2000);

    // Act
    let form = app
        .post_form_as(
            &acct,
            &messages,
            &[("To", "+15005550006"), ("From", "+15005550010"), ("Body", &big)],
        )
        .await;
    let keyed = app
        .request(Method::POST, &messages)
        .basic_auth(&acct.sid, Some(&acct.token))
        .header("Idempotency-Key", "big-one")
        .form(&[("To", "+15005550006"), ("From", "+15005550010"), ("Body", &big)])
        .send()
        .await
        .unwrap();
    let small = app
        .post_form_as(
            &acct,
            &messages,
            &[("To", "+15005550006"), ("From", "+15005550010"), ("Body", "hi")],
        )
        .await;

    // Assert
    assert_error(form, StatusCode::PAYLOAD_TOO_LARGE, 20413).await;
    assert_error(keyed, StatusCode::PAYLOAD_TOO_LARGE, 20413).await;
    assert_eq!(small.status(), StatusCode::CREATED, "bodies under the limit still work");
}

#[tokio::test]
async fn an_unknown_uri_is_404_in_the_error_shape_and_more_info_resolves() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("lost").await;
    let message = app
        .send_message(&acct, &[("To", "+15005550006"), ("From", "+15005550010"), ("Body", "hi")])
        .await;
    let uri = message["uri"].as_str().unwrap();
    wait_until_deletable(&app, &acct, uri).await;
    let deleted = app
        .request(Method::DELETE, uri)
        .basic_auth(&acct.sid, Some(&acct.token))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // Act
    let nowhere = app.get("/there-is-nothing-here").await;
    let gone = app.get_as(&acct, uri).await;

    // Assert
    for res in [nowhere, gone] {
        let err = assert_error(res, StatusCode::NOT_FOUND, 20404).await;
        assert!(err["uri"].is_string() && err["subresource_uris"].is_object(), "{err}");
        let more_info = err["more_info"].as_str().unwrap();
        assert!(more_info.starts_with("/docs/errors/"), "{more_info}");
        let page = app.get(more_info).await;
        // The error pages are being written; once a page exists it must be served.
        if page.status() != StatusCode::NOT_FOUND {
            assert_eq!(page.status(), StatusCode::OK, "{more_info}");
            assert!(content_type(page.headers()).starts_with("text/html"));
        }
    }
}

#[tokio::test]
async fn a_request_id_is_echoed_when_sent_and_generated_otherwise() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let echoed = app
        .request(Method::GET, "/")
        .header("x-request-id", "trace-42.abc_DEF")
        .send()
        .await
        .unwrap();
    let generated = app.get("/").await;
    let generated_too = app.get("/").await;
    let on_error = app
        .request(Method::GET, "/there-is-nothing-here")
        .header("x-request-id", "trace-404")
        .send()
        .await
        .unwrap();
    let malformed = app
        .request(Method::GET, "/")
        .header("x-request-id", "has spaces <and> junk")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(header(echoed.headers(), "x-request-id"), "trace-42.abc_DEF");
    let (a, b) = (
        header(generated.headers(), "x-request-id"),
        header(generated_too.headers(), "x-request-id"),
    );
    assert!(!a.is_empty() && !b.is_empty(), "generated ids");
    assert_ne!(a, b, "each request gets its own id");
    assert_eq!(header(on_error.headers(), "x-request-id"), "trace-404", "errors carry it too");
    let replaced = header(malformed.headers(), "x-request-id");
    assert!(
        !replaced.is_empty() && replaced != "has spaces <and> junk",
        "a malformed id is replaced: {replaced:?}"
    );
}

#[tokio::test]
async fn a_retried_post_with_an_idempotency_key_creates_exactly_one_message_even_after_a_restart() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("retry").await;
    let messages = app.messages_uri(&acct).await;
    let form = [("To", "+15005550006"), ("From", "+15005550010"), ("Body", "hi")];
    let post = |app: &TestApp, form: &[(&str, &str)]| {
        app.request(Method::POST, &messages)
            .basic_auth(&acct.sid, Some(&acct.token))
            .header("Idempotency-Key", "key-1")
            .form(form)
            .send()
    };

    // Act
    let first = post(&app, &form).await.unwrap();
    let second = post(&app, &form).await.unwrap();
    let different = post(
        &app,
        &[("To", "+15005550006"), ("From", "+15005550010"), ("Body", "something else")],
    )
    .await
    .unwrap();
    let app = app.restart().await;
    let after_restart = post(&app, &form).await.unwrap();

    // Assert
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_ne!(header(first.headers(), "idempotent-replayed"), "true");
    let first_location = header(first.headers(), "location").to_owned();
    let first: Value = first.json().await.unwrap();
    for (what, res) in [("retry", second), ("retry after restart", after_restart)] {
        assert_eq!(res.status(), StatusCode::CREATED, "{what}: the first response again");
        assert_eq!(header(res.headers(), "idempotent-replayed"), "true", "{what}");
        assert_eq!(header(res.headers(), "location"), first_location, "{what}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["sid"], first["sid"], "{what}: same message");
    }
    let err = assert_error(different, StatusCode::UNPROCESSABLE_ENTITY, 20422).await;
    assert!(err["message"].as_str().unwrap().contains("Idempotency-Key"), "{err}");
    let list: Value = app.get_as(&acct, &messages).await.json().await.unwrap();
    let sids: Vec<&str> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, vec![first["sid"].as_str().unwrap()], "exactly one message exists");
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_its_account() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.create_account("alice").await;
    let bob = app.create_account("bob").await;
    let form = [("To", "+15005550006"), ("From", "+15005550010"), ("Body", "hi")];

    // Act: both use the same key, each on their own collection.
    let mut sids = Vec::new();
    for who in [&alice, &bob] {
        let messages = app.messages_uri(who).await;
        let res = app
            .request(Method::POST, &messages)
            .basic_auth(&who.sid, Some(&who.token))
            .header("Idempotency-Key", "shared")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_ne!(header(res.headers(), "idempotent-replayed"), "true");
        sids.push(res.json::<Value>().await.unwrap()["account_sid"].as_str().unwrap().to_owned());
    }

    // Assert
    assert_eq!(sids, vec![alice.sid.clone(), bob.sid.clone()], "no replay across accounts");
}

#[tokio::test]
async fn problem_json_is_given_to_clients_that_ask_for_it() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("problem").await;

    // Act
    let not_found = app
        .request(Method::GET, "/there-is-nothing-here")
        .header("accept", "application/problem+json")
        .send()
        .await
        .unwrap();
    let unauthorized = app
        .request(Method::GET, &acct.uri)
        .header("accept", "application/problem+json")
        .send()
        .await
        .unwrap();
    let twilio = app
        .request(Method::GET, "/there-is-nothing-here")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();

    // Assert
    for (res, status, code) in [(not_found, 404, 20404), (unauthorized, 401, 20003)] {
        assert_eq!(res.status().as_u16(), status);
        assert!(
            content_type(res.headers()).starts_with("application/problem+json"),
            "{}",
            content_type(res.headers())
        );
        let body: Value = res.json().await.unwrap();
        assert!(body["type"].is_string(), "{body}");
        assert!(body["title"].is_string(), "{body}");
        assert_eq!(body["status"], status);
        assert!(body["detail"].is_string(), "{body}");
        assert_eq!(body["code"], code);
    }
    assert!(content_type(twilio.headers()).starts_with("application/json"));
    let body: Value = twilio.json().await.unwrap();
    assert!(
        !(body.get("type").is_some() && body.get("title").is_some()),
        "the Twilio shape never has type + title: {body}"
    );
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after() {
    // Arrange
    let app = rate_limited(3).await;
    let mut remaining = Vec::new();

    // Act
    for _ in 0..3 {
        let res = app.get("/").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(res.headers(), "x-ratelimit-limit"), "3");
        assert!(header(res.headers(), "x-ratelimit-reset").parse::<u64>().is_ok());
        remaining.push(header(res.headers(), "x-ratelimit-remaining").parse::<u32>().unwrap());
    }
    let refused = app.get("/").await;

    // Assert
    assert_eq!(remaining, vec![2, 1, 0]);
    let retry_after = header(refused.headers(), "retry-after")
        .parse::<u64>()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    assert_eq!(header(refused.headers(), "x-ratelimit-remaining"), "0");
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, 20429).await;
    // OPTIONS shows the budget for free.
    let options = app.request(Method::OPTIONS, "/").send().await.unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT, "OPTIONS does not count");
    assert_eq!(header(options.headers(), "x-ratelimit-limit"), "3");
}

#[tokio::test]
async fn a_304_answer_does_not_consume_the_rate_limit() {
    // Arrange
    let app = rate_limited(3).await;
    let first = app.get("/").await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = header(first.headers(), "etag").to_owned();

    // Act
    for _ in 0..6 {
        let res = app.request(Method::GET, "/").header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    }
    let second = app.get("/").await;
    let third = app.get("/").await;
    let fourth = app.get("/").await;

    // Assert
    assert_eq!(second.status(), StatusCode::OK, "304s were free");
    assert_eq!(third.status(), StatusCode::OK, "304s were free");
    assert_eq!(header(third.headers(), "x-ratelimit-remaining"), "0");
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
}

// ---- helpers local to this file ----

/// A resource to check, reached from `/`, with who may read it and what it should offer.
struct Target {
    name: &'static str,
    uri: String,
    who: Option<TestAccount>,
    /// An item (has `Last-Modified`).
    item: bool,
    /// A collection: its items key.
    items: Option<&'static str>,
    /// HAL-FORMS templates it must have.
    templates: &'static [&'static str],
    /// Methods beyond GET/HEAD/OPTIONS its `Allow` must list.
    also_allows: &'static [&'static str],
}

impl Target {
    fn request(&self, app: &TestApp, method: Method) -> RequestBuilder {
        let req = app.request(method, &self.uri);
        match &self.who {
            Some(w) => req.basic_auth(&w.sid, Some(&w.token)),
            None => req,
        }
    }
}

/// A server with an account, a session and a scheduled message, and every kind of resource
/// reached from `/`: root, an account, accounts, sessions, a message, messages.
async fn tour() -> (TestApp, TestAccount, Vec<Target>) {
    let app = spawn_app().await;
    let acct = app.create_account("tourist").await;
    let root = app.root().await;
    let sessions = rel(&root, "sessions");
    let res = app
        .request(Method::POST, &sessions)
        .basic_auth(&acct.sid, Some(&acct.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let session: Value = res.json().await.unwrap();
    let message = scheduled_message(&app, &acct).await;
    let messages = app.messages_uri(&acct).await;
    let who = Some(acct.clone());
    let targets = vec![
        Target {
            name: "root",
            uri: root["uri"].as_str().unwrap().into(),
            who: None,
            item: false,
            items: None,
            templates: &["sign-in", "create-account"],
            also_allows: &[],
        },
        Target {
            name: "account",
            uri: acct.uri.clone(),
            who: who.clone(),
            item: true,
            items: None,
            templates: &["update"],
            also_allows: &["POST"],
        },
        Target {
            name: "accounts",
            uri: rel(&root, "accounts"),
            who: who.clone(),
            item: false,
            items: Some("accounts"),
            templates: &["default"],
            also_allows: &["POST"],
        },
        Target {
            name: "sessions",
            uri: sessions,
            who: who.clone(),
            item: false,
            items: Some("sessions"),
            templates: &["sign-in"],
            also_allows: &["POST"],
        },
        Target {
            name: "session",
            uri: session["uri"].as_str().unwrap().into(),
            who: who.clone(),
            item: true,
            items: None,
            templates: &["sign-out"],
            also_allows: &["DELETE"],
        },
        Target {
            name: "message",
            uri: message["uri"].as_str().unwrap().into(),
            who: who.clone(),
            item: true,
            items: None,
            templates: &["redact", "cancel", "delete", "feedback"],
            also_allows: &["POST", "DELETE"],
        },
        Target {
            name: "messages",
            uri: messages,
            who,
            item: false,
            items: Some("messages"),
            templates: &["default"],
            also_allows: &["POST"],
        },
    ];
    (app, acct, targets)
}

/// Sends a message scheduled a day ahead, so its state (and ETag) stays put while a test runs.
async fn scheduled_message(app: &TestApp, who: &TestAccount) -> Value {
    let send_at = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap();
    let send_at = send_at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let m = app
        .send_message(
            who,
            &[
                ("To", "+15005550006"),
                ("From", "+15005550010"),
                ("Body", "hi"),
                ("SendAt", &send_at),
                ("ScheduleType", "fixed"),
            ],
        )
        .await;
    assert_eq!(m["status"], "scheduled", "{m}");
    m
}

/// Waits until a message is past `sending` (it may not be deleted while being sent).
async fn wait_until_deletable(app: &TestApp, who: &TestAccount, uri: &str) {
    for _ in 0..200 {
        let m: Value = app.get_as(who, uri).await.json().await.unwrap();
        if m["status"] != "sending" && m["status"] != "queued" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the message never left queued/sending");
}

/// A server with a rate limit of `limit` requests per window.
async fn rate_limited(limit: u32) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    config.rate_limit = limit;
    config.rate_limit_window = 3600;
    spawn_with(dir, config).await
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

fn content_type(h: &HeaderMap) -> &str {
    header(h, "content-type")
}

fn methods(allow: &str) -> Vec<String> {
    allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}
