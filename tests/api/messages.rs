//! Messages, media and feedback (CONTRACT §4, §5, §7; issue 3), reached from `/` by relations.
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TO: &str = "+15005550006";
const FROM: &str = "+15551234567";

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_message_answers_201_with_location_and_a_queued_outbound_message() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("sender").await;
    let messages = app.messages_uri(&acct).await;
    // Act
    let res = app
        .post_form_as(&acct, &messages, &[("To", TO), ("From", FROM), ("Body", "Hello there")])
        .await;
    // Assert
    assert_eq!(res.status(), StatusCode::CREATED);
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    let uri = body["uri"].as_str().expect("uri");
    assert_eq!(headers["location"].to_str().unwrap(), uri, "Location is the message's uri");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["direction"], "outbound-api");
    assert_eq!(body["to"], TO);
    assert_eq!(body["from"], FROM);
    assert_eq!(body["body"], "Hello there");
    assert_eq!(body["account_sid"], acct.sid.as_str());
    assert_eq!(body["api_version"], "2010-04-01");
    assert_eq!(body["num_segments"], json!("1"), "num_segments is a string");
    assert_eq!(body["num_media"], json!("0"), "num_media is a string");
    let sid = body["sid"].as_str().unwrap();
    assert!(sid.starts_with("SM") && sid.len() == 34, "sid {sid}");
    assert!(
        sid[2..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "sid {sid}"
    );
    for field in ["date_created", "date_updated"] {
        assert!(is_rfc2822(&body[field]), "{field} is RFC 2822: {}", body[field]);
    }
    assert!(body["date_sent"].is_null(), "not sent yet");
    assert!(body["error_code"].is_null());
    for r in ["media", "feedback", "account"] {
        assert!(body["subresource_uris"][r].is_string(), "message lacks relation {r}: {body}");
    }
    assert_hypermedia(&headers, &body);
}

#[tokio::test]
async fn a_message_can_be_created_with_a_json_body() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("json").await;
    let messages = app.messages_uri(&acct).await;
    // Act
    let res = app
        .request(Method::POST, &messages)
        .basic_auth(&acct.sid, Some(&acct.token))
        .json(&json!({"To": TO, "From": FROM, "Body": "from JSON", "MediaUrl": ["https://example.com/a.png"]}))
        .send()
        .await
        .unwrap();
    // Assert
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["body"], "from JSON");
    assert_eq!(body["to"], TO);
    assert_eq!(body["num_media"], "1");
}

#[tokio::test]
async fn every_create_validation_error_answers_400_with_twilios_code() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("validation").await;
    let messages = app.messages_uri(&acct).await;
    let long = "a".repeat(1601);
    let cases: Vec<Case> = vec![
        ("To missing", vec![("From", FROM), ("Body", "x")], 21604),
        ("To not E.164", vec![("To", "5005550006"), ("From", FROM), ("Body", "x")], 21211),
        ("From not E.164", vec![("To", TO), ("From", "not a number"), ("Body", "x")], 21212),
        ("no Body and no MediaUrl", vec![("To", TO), ("From", FROM)], 21602),
        ("empty Body and no MediaUrl", vec![("To", TO), ("From", FROM), ("Body", "")], 21602),
        (
            "body of 1601 characters",
            vec![("To", TO), ("From", FROM), ("Body", long.as_str())],
            21617,
        ),
        (
            "magic To +15005550001",
            vec![("To", "+15005550001"), ("From", FROM), ("Body", "x")],
            21211,
        ),
        (
            "magic To +15005550002",
            vec![("To", "+15005550002"), ("From", FROM), ("Body", "x")],
            21612,
        ),
        (
            "magic To +15005550003",
            vec![("To", "+15005550003"), ("From", FROM), ("Body", "x")],
            21408,
        ),
        (
            "magic To +15005550004",
            vec![("To", "+15005550004"), ("From", FROM), ("Body", "x")],
            21610,
        ),
        (
            "magic To +15005550009",
            vec![("To", "+15005550009"), ("From", FROM), ("Body", "x")],
            21614,
        ),
        (
            "magic From +15005550001",
            vec![("To", TO), ("From", "+15005550001"), ("Body", "x")],
            21212,
        ),
        (
            "magic From +15005550007",
            vec![("To", TO), ("From", "+15005550007"), ("Body", "x")],
            21606,
        ),
        (
            "magic From +15005550008",
            vec![("To", TO), ("From", "+15005550008"), ("Body", "x")],
            21611,
        ),
        (
            "StatusCallback not http",
            vec![("To", TO), ("From", FROM), ("Body", "x"), ("StatusCallback", "ftp://x")],
            21609,
        ),
    ];
    for (case, form, code) in cases {
        // Act
        let res = app.post_form_as(&acct, &messages, &form).await;
        // Assert
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{case}: {body}");
        assert_eq!(body["status"], 400, "{case}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}: {body}");
    }
    // Nothing was created by any of them.
    let list = get_json(&app, &acct, &messages).await.2;
    assert_eq!(list["messages"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn a_body_of_exactly_1600_characters_is_accepted() {
    let app = spawn_app().await;
    let acct = app.create_account("limit").await;
    let body = "a".repeat(1600);
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", &body)]).await;
    assert_eq!(created["body"].as_str().unwrap().chars().count(), 1600);
}

#[tokio::test]
async fn num_segments_counts_gsm7_at_160_and_ucs2_at_70_characters() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("segments").await;
    let cases = [
        ("a".repeat(160), "1"),
        ("a".repeat(161), "2"),
        ("ж".repeat(70), "1"),
        ("ж".repeat(71), "2"),
    ];
    for (body, expected) in cases {
        // Act
        let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", &body)]).await;
        // Assert
        assert_eq!(
            created["num_segments"],
            json!(expected),
            "{} chars of {:?}",
            body.chars().count(),
            body.chars().next()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fetch and list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_created_message_can_be_fetched_at_its_uri() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("fetch").await;
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "fetch me")]).await;
    // Act
    let (status, headers, body) = get_json(&app, &acct, &uri_of(&created)).await;
    // Assert
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sid"], created["sid"]);
    assert_eq!(body["body"], "fetch me");
    assert_eq!(body["uri"], created["uri"]);
    assert_hypermedia(&headers, &body);
}

#[tokio::test]
async fn the_list_is_newest_first_and_carries_twilios_paging_keys_and_meta_key() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("list").await;
    let mut sids = Vec::new();
    for i in 0..3 {
        let m = app
            .send_message(&acct, &[("To", TO), ("From", FROM), ("Body", &format!("message {i}"))])
            .await;
        sids.push(m["sid"].as_str().unwrap().to_owned());
    }
    let messages = app.messages_uri(&acct).await;
    // Act
    let (status, headers, body) = get_json(&app, &acct, &messages).await;
    // Assert
    assert_eq!(status, StatusCode::OK);
    sids.reverse();
    assert_eq!(sids_of(&body, "messages"), sids, "newest first");
    assert_eq!(body["meta"]["key"], "messages");
    for key in [
        "page",
        "page_size",
        "start",
        "end",
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
        "uri",
    ] {
        assert!(body.get(key).is_some(), "list lacks {key}: {body}");
    }
    assert_eq!(body["page"], 0);
    assert_eq!(body["page_size"], 50);
    assert!(body["next_page_uri"].is_null());
    assert!(body["previous_page_uri"].is_null());
    assert!(body["first_page_uri"].is_string());
    for item in body["messages"].as_array().unwrap() {
        assert!(
            item["uri"].is_string() && item["subresource_uris"]["media"].is_string(),
            "item {item}"
        );
    }
    assert_hypermedia(&headers, &body);
    assert_eq!(link(&headers, "first").as_deref(), body["first_page_uri"].as_str());
}

#[tokio::test]
async fn the_list_filters_by_to_and_from() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("filters").await;
    let a = app
        .send_message(&acct, &[("To", "+15551110001"), ("From", "+15552220001"), ("Body", "a")])
        .await;
    let b = app
        .send_message(&acct, &[("To", "+15551110002"), ("From", "+15552220001"), ("Body", "b")])
        .await;
    let c = app
        .send_message(&acct, &[("To", "+15551110001"), ("From", "+15552220002"), ("Body", "c")])
        .await;
    let messages = app.messages_uri(&acct).await;
    // Act
    let by_to = get_json(&app, &acct, &with_query(&app, &messages, &[("To", "+15551110001")])).await;
    let by_from = get_json(&app, &acct, &with_query(&app, &messages, &[("From", "+15552220001")])).await;
    let by_both = get_json(
        &app,
        &acct,
        &with_query(&app, &messages, &[("To", "+15551110001"), ("From", "+15552220002")]),
    )
    .await;
    // Assert
    assert_eq!(by_to.0, StatusCode::OK);
    assert_eq!(sids_of(&by_to.2, "messages"), vec![sid_of(&c), sid_of(&a)]);
    assert_eq!(sids_of(&by_from.2, "messages"), vec![sid_of(&b), sid_of(&a)]);
    assert_eq!(sids_of(&by_both.2, "messages"), vec![sid_of(&c)]);
}

#[tokio::test]
async fn the_list_filters_by_date_sent_once_a_message_went_out() {
    // Arrange: one delivered message, one scheduled (never sent).
    let app = spawn_app().await;
    let acct = app.create_account("date sent").await;
    let sent = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "goes now")]).await;
    let later = app
        .send_message(
            &acct,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "goes later"),
                ("SendAt", &send_at_in(3600)),
                ("ScheduleType", "fixed"),
            ],
        )
        .await;
    assert_eq!(later["status"], "scheduled");
    let delivered = wait_for_status(&app, &acct, &uri_of(&sent), &["delivered"], Duration::from_secs(10)).await;
    let date_sent = delivered["date_sent"].as_str().expect("date_sent is set once delivered");
    let day = parse_rfc2822(date_sent).date().to_string(); // YYYY-MM-DD
    let messages = app.messages_uri(&acct).await;
    // Act
    let today = get_json(&app, &acct, &with_query(&app, &messages, &[("DateSent", &day)])).await;
    let long_ago = get_json(&app, &acct, &with_query(&app, &messages, &[("DateSent", "2001-01-01")])).await;
    let bad = get_json(&app, &acct, &with_query(&app, &messages, &[("DateSent", "yesterday-ish")])).await;
    // Assert
    assert_eq!(today.0, StatusCode::OK);
    assert_eq!(sids_of(&today.2, "messages"), vec![sid_of(&sent)], "only the sent one: {}", today.2);
    assert_eq!(sids_of(&long_ago.2, "messages"), Vec::<String>::new());
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_page_size_out_of_range_answers_400() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("page size").await;
    let messages = app.messages_uri(&acct).await;
    for bad in ["0", "1001", "abc"] {
        // Act
        let (status, _, body) = get_json(&app, &acct, &with_query(&app, &messages, &[("PageSize", bad)])).await;
        // Assert
        assert_eq!(status, StatusCode::BAD_REQUEST, "PageSize={bad}");
        assert!(
            body["message"].as_str().unwrap_or("").contains("PageSize"),
            "clear message for {bad}: {body}"
        );
    }
    let (status, _, body) = get_json(&app, &acct, &with_query(&app, &messages, &[("PageSize", "1000")])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["page_size"], 1000);
}

#[tokio::test]
async fn previous_page_uri_leads_back_to_the_items_of_the_page_before() {
    // Arrange: 10 messages, pages of 3.
    let app = spawn_app().await;
    let acct = app.create_account("prev").await;
    for i in 0..10 {
        app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", &format!("m{i}"))])
            .await;
    }
    let messages = app.messages_uri(&acct).await;
    let (_, h1, page1) = get_json(&app, &acct, &with_query(&app, &messages, &[("PageSize", "3")])).await;
    let next = page1["next_page_uri"].as_str().expect("page 1 has a next page").to_owned();
    assert_eq!(link(&h1, "next").as_deref(), Some(next.as_str()), "Link next == next_page_uri");
    let (_, h2, page2) = get_json(&app, &acct, &next).await;
    let (_, _, page3) = get_json(&app, &acct, page2["next_page_uri"].as_str().unwrap()).await;
    // Act
    let prev = page2["previous_page_uri"].as_str().expect("page 2 has a previous page");
    let (status, _, back1) = get_json(&app, &acct, prev).await;
    let (_, _, back2) = get_json(&app, &acct, page3["previous_page_uri"].as_str().unwrap()).await;
    // Assert
    assert_eq!(link(&h2, "prev").as_deref(), Some(prev), "Link prev == previous_page_uri");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sids_of(&back1, "messages"), sids_of(&page1, "messages"));
    assert_eq!(sids_of(&back2, "messages"), sids_of(&page2, "messages"));
    assert_eq!(page2["page"], 1);
    assert_eq!(page2["page_size"], 3);
    assert_eq!(page2["start"], 3);
    assert_eq!(page2["end"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn walking_next_page_uri_sees_each_of_1000_messages_exactly_once_while_new_ones_arrive() {
    // Arrange: 1,000 messages, created 50 at a time.
    let app = spawn_app().await;
    let acct = app.create_account("walker").await;
    let messages = app.url(&app.messages_uri(&acct).await);
    let mut existing: HashSet<String> = HashSet::new();
    for batch in 0..20 {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..50 {
            let (client, uri, acct) = (app.client.clone(), messages.clone(), acct.clone());
            set.spawn(async move { create_with(&client, &uri, &acct, &format!("batch {batch} #{i}")).await });
        }
        while let Some(sid) = set.join_next().await {
            existing.insert(sid.unwrap());
        }
    }
    assert_eq!(existing.len(), 1000);
    // A task keeps creating messages during the walk.
    let stop = Arc::new(AtomicBool::new(false));
    let created_meanwhile = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (client, uri, acct, stop, n) = (
            app.client.clone(),
            messages.clone(),
            acct.clone(),
            stop.clone(),
            created_meanwhile.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                create_with(&client, &uri, &acct, "newcomer").await;
                n.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while created_meanwhile.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Act: follow next_page_uri from the first page, 37 at a time.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut next = Some(with_query(&app, &messages, &[("PageSize", "37")]));
    let mut pages = 0;
    while let Some(uri) = next {
        let (status, headers, page) = get_json(&app, &acct, &uri).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["page_size"], 37);
        assert_eq!(page["page"], pages);
        let items = sids_of(&page, "messages");
        assert!(items.len() <= 37);
        for sid in items {
            *seen.entry(sid).or_default() += 1;
        }
        next = page["next_page_uri"].as_str().map(str::to_owned);
        assert_eq!(link(&headers, "next"), next, "Link next follows next_page_uri");
        pages += 1;
        assert!(pages < 200, "the walk does not end");
    }
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    // Assert
    assert!(
        created_meanwhile.load(Ordering::SeqCst) > 1,
        "messages were created during the walk"
    );
    for sid in &existing {
        assert_eq!(seen.get(sid), Some(&1), "{sid} seen {:?} times", seen.get(sid));
    }
    assert!(seen.values().all(|n| *n == 1), "no message seen twice");
    assert!(pages >= 1000 / 37, "walked {pages} pages");
}

#[tokio::test]
async fn the_list_filters_by_date_sent_before_and_after() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("date range").await;
    let sent = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "out")]).await;
    wait_for_status(&app, &acct, &uri_of(&sent), &["delivered"], Duration::from_secs(10)).await;
    let messages = app.messages_uri(&acct).await;
    // Act
    let after_2001 = get_json(&app, &acct, &with_query(&app, &messages, &[("DateSent>", "2001-01-01")])).await;
    let before_2001 = get_json(&app, &acct, &with_query(&app, &messages, &[("DateSent<", "2001-01-01")])).await;
    let after_3000 = get_json(&app, &acct, &with_query(&app, &messages, &[("DateSent>", "3000-01-01T00:00:00Z")])).await;
    // Assert
    assert_eq!(after_2001.0, StatusCode::OK);
    assert_eq!(sids_of(&after_2001.2, "messages"), vec![sid_of(&sent)]);
    assert_eq!(sids_of(&before_2001.2, "messages"), Vec::<String>::new());
    assert_eq!(sids_of(&after_3000.2, "messages"), Vec::<String>::new());
}

#[tokio::test]
async fn paging_links_keep_the_filters() {
    // Arrange: 3 messages to one number, 2 to another.
    let app = spawn_app().await;
    let acct = app.create_account("filtered pages").await;
    let mut wanted = Vec::new();
    for i in 0..5 {
        let to = if i % 2 == 0 { "+15551110001" } else { "+15551110002" };
        let m = app
            .send_message(&acct, &[("To", to), ("From", FROM), ("Body", &format!("m{i}"))])
            .await;
        if i % 2 == 0 {
            wanted.push(sid_of(&m));
        }
    }
    wanted.reverse();
    let messages = app.messages_uri(&acct).await;
    // Act: walk pages of 1.
    let mut seen = Vec::new();
    let mut next = Some(with_query(&app, &messages, &[("To", "+15551110001"), ("PageSize", "1")]));
    while let Some(uri) = next {
        let page = get_json(&app, &acct, &uri).await.2;
        seen.extend(sids_of(&page, "messages"));
        next = page["next_page_uri"].as_str().map(str::to_owned);
        assert!(seen.len() <= 10, "the walk does not end");
    }
    // Assert
    assert_eq!(seen, wanted);
}

#[tokio::test]
async fn the_messages_collection_is_reached_from_the_root_the_account_and_a_session() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("three ways").await;
    let from_root = app.messages_uri(&acct).await;
    // Act
    let account = get_json(&app, &acct, &acct.uri).await.2;
    let from_account = rel(&account, "messages");
    let root = app.root().await;
    let res = app.post_form_as(&acct, &rel(&root, "sessions"), &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let session: Value = res.json().await.unwrap();
    let from_session = rel(&session, "messages");
    // Assert
    assert_eq!(from_account, from_root);
    assert_eq!(from_session, from_root);
    // The session's token works on it too.
    let token = session["token"].as_str().expect("token in the 201");
    let res = app
        .request(Method::POST, &from_session)
        .bearer_auth(token)
        .form(&[("To", TO), ("From", FROM), ("Body", "by session")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_cancel_action_is_offered_only_while_the_message_can_be_canceled() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("templates").await;
    let scheduled = app
        .send_message(
            &acct,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "later"),
                ("SendAt", &send_at_in(3600)),
                ("ScheduleType", "fixed"),
            ],
        )
        .await;
    let now = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "now")]).await;
    wait_for_status(&app, &acct, &uri_of(&now), &["delivered"], Duration::from_secs(10)).await;
    let forms = |uri: String| {
        app.request(Method::GET, &uri)
            .basic_auth(&acct.sid, Some(&acct.token))
            .header("Accept", "application/prs.hal-forms+json")
            .send()
    };
    // Act
    let waiting: Value = forms(uri_of(&scheduled)).await.unwrap().json().await.unwrap();
    let gone: Value = forms(uri_of(&now)).await.unwrap().json().await.unwrap();
    // Assert
    let has_cancel = |v: &Value| {
        v["_templates"].as_object().is_some_and(|t| {
            t.values().any(|t| {
                t["properties"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p["name"] == "Status" && p["value"] == "canceled"))
            })
        })
    };
    assert!(has_cancel(&waiting), "a scheduled message offers cancel: {waiting}");
    assert!(!has_cancel(&gone), "a delivered message does not: {gone}");
}

// ---------------------------------------------------------------------------------------------
// Update (redact, cancel) and delete
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn updating_body_to_empty_redacts_it_for_good() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("redact").await;
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "secret")]).await;
    let uri = uri_of(&created);
    // Act
    let res = app.post_form_as(&acct, &uri, &[("Body", "")]).await;
    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["body"], "");
    assert_eq!(body["sid"], created["sid"]);
    let refetched = get_json(&app, &acct, &uri).await.2;
    assert_eq!(refetched["body"], "");
    // Still redacted once the dispatcher is done with it.
    let delivered = wait_for_status(&app, &acct, &uri, &["delivered"], Duration::from_secs(10)).await;
    assert_eq!(delivered["body"], "");
}

#[tokio::test]
async fn a_scheduled_message_can_be_canceled() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("cancel").await;
    let created = app
        .send_message(
            &acct,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "later"),
                ("SendAt", &send_at_in(3600)),
                ("ScheduleType", "fixed"),
            ],
        )
        .await;
    assert_eq!(created["status"], "scheduled");
    let uri = uri_of(&created);
    // Act
    let res = app.post_form_as(&acct, &uri, &[("Status", "canceled")]).await;
    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "canceled");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        get_json(&app, &acct, &uri).await.2["status"],
        "canceled",
        "the dispatcher leaves it alone"
    );
}

#[tokio::test]
async fn canceling_a_delivered_message_answers_409_with_30409() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("too late").await;
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "fast")]).await;
    let uri = uri_of(&created);
    wait_for_status(&app, &acct, &uri, &["delivered"], Duration::from_secs(10)).await;
    // Act
    let res = app.post_form_as(&acct, &uri, &[("Status", "canceled")]).await;
    // Assert
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], 30409, "{body}");
    assert_eq!(get_json(&app, &acct, &uri).await.2["status"], "delivered");
}

#[tokio::test]
async fn invalid_updates_answer_400_with_30400() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("bad updates").await;
    let created = app
        .send_message(
            &acct,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "keep me"),
                ("SendAt", &send_at_in(3600)),
                ("ScheduleType", "fixed"),
            ],
        )
        .await;
    let uri = uri_of(&created);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("redact and cancel together", vec![("Body", ""), ("Status", "canceled")]),
        ("an unknown status", vec![("Status", "sent")]),
        ("a non-empty body", vec![("Body", "x")]),
    ];
    for (case, form) in cases {
        // Act
        let res = app.post_form_as(&acct, &uri, &form).await;
        // Assert
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], 30400, "{case}: {body}");
    }
    let after = get_json(&app, &acct, &uri).await.2;
    assert_eq!(after["body"], "keep me");
    assert_eq!(after["status"], "scheduled");
}

#[tokio::test]
async fn deleting_a_message_answers_204_and_removes_it_with_its_media() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("delete").await;
    let created = app
        .send_message(
            &acct,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "bye"),
                ("MediaUrl", "https://example.com/a.png"),
            ],
        )
        .await;
    let uri = uri_of(&created);
    wait_for_status(&app, &acct, &uri, &["delivered"], Duration::from_secs(10)).await;
    let media_list = rel(&created, "media");
    let media = get_json(&app, &acct, &media_list).await.2;
    let media_uri = media["media_list"][0]["uri"].as_str().expect("one media item").to_owned();
    app.post_form_as(&acct, &rel(&created, "feedback"), &[("Outcome", "confirmed")])
        .await;
    // Act
    let res = delete_as(&app, &acct, &uri).await;
    // Assert
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_json(&app, &acct, &uri).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_json(&app, &acct, &media_uri).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_json(&app, &acct, &media_list).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_json(&app, &acct, &rel(&created, "feedback")).await.0, StatusCode::NOT_FOUND);
    let list = get_json(&app, &acct, &app.messages_uri(&acct).await).await.2;
    assert!(!sids_of(&list, "messages").contains(&sid_of(&created)));
    assert_eq!(
        delete_as(&app, &acct, &uri).await.status(),
        StatusCode::NOT_FOUND,
        "a second delete"
    );
}

// ---------------------------------------------------------------------------------------------
// Media and feedback
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn media_urls_become_media_items_that_can_be_listed_fetched_and_deleted() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("media").await;
    let created = app
        .send_message(
            &acct,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "pics"),
                ("MediaUrl", "https://example.com/a.png"),
                ("MediaUrl", "https://example.com/b.jpg"),
            ],
        )
        .await;
    assert_eq!(created["num_media"], json!("2"));
    // Act: follow `media`.
    let (status, headers, list) = get_json(&app, &acct, &rel(&created, "media")).await;
    // Assert
    assert_eq!(status, StatusCode::OK);
    assert_hypermedia(&headers, &list);
    assert_eq!(list["meta"]["key"], "media_list");
    let items = list["media_list"].as_array().expect("media_list");
    assert_eq!(items.len(), 2, "{list}");
    let types: Vec<&str> = items.iter().map(|m| m["content_type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["image/png", "image/jpeg"]);
    for m in items {
        assert_eq!(m["parent_sid"], created["sid"]);
        assert_eq!(m["account_sid"], acct.sid.as_str());
        assert!(m["sid"].as_str().unwrap().starts_with("ME"));
        assert!(is_rfc2822(&m["date_created"]));
    }
    // Fetch one by its uri.
    let first = uri_of(&items[0]);
    let (status, headers, one) = get_json(&app, &acct, &first).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["sid"], items[0]["sid"]);
    assert_eq!(one["content_type"], "image/png");
    assert_hypermedia(&headers, &one);
    // Delete it.
    assert_eq!(delete_as(&app, &acct, &first).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_json(&app, &acct, &first).await.0, StatusCode::NOT_FOUND);
    let message = get_json(&app, &acct, &uri_of(&created)).await.2;
    assert_eq!(message["num_media"], json!("1"));
    let list = get_json(&app, &acct, &rel(&created, "media")).await.2;
    assert_eq!(list["media_list"].as_array().unwrap().len(), 1);
    assert_eq!(list["media_list"][0]["content_type"], "image/jpeg");
}

#[tokio::test]
async fn feedback_is_empty_until_given_then_201_and_fetchable() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("feedback").await;
    let created = app
        .send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "did you get it?")])
        .await;
    let feedback = rel(&created, "feedback");
    // Act / Assert: nothing yet, but the relation leads to a resource with its form.
    let (status, headers, body) = get_json(&app, &acct, &feedback).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["outcome"], Value::Null);
    assert_eq!(body["date_created"], Value::Null);
    assert_eq!(body["message_sid"], created["sid"]);
    assert_hypermedia(&headers, &body);
    // A bad outcome.
    let res = app.post_form_as(&acct, &feedback, &[("Outcome", "bad")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        get_json(&app, &acct, &feedback).await.2["outcome"],
        Value::Null,
        "a bad outcome records nothing"
    );
    // A good one.
    let res = app.post_form_as(&acct, &feedback, &[("Outcome", "confirmed")]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let given: Value = res.json().await.unwrap();
    assert_eq!(given["outcome"], "confirmed");
    let (status, headers, body) = get_json(&app, &acct, &feedback).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["outcome"], "confirmed");
    assert_eq!(body["message_sid"], created["sid"]);
    assert!(is_rfc2822(&body["date_created"]));
    assert_hypermedia(&headers, &body);
}

// ---------------------------------------------------------------------------------------------
// Isolation between accounts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_account_cannot_see_update_or_delete_my_messages() {
    // Arrange
    let app = spawn_app().await;
    let me = app.create_account("me").await;
    let other = app.create_account("other").await;
    let mine = app
        .send_message(
            &me,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "private"),
                ("MediaUrl", "https://example.com/a.png"),
            ],
        )
        .await;
    let uri = uri_of(&mine);
    let my_messages = app.messages_uri(&me).await;
    // Act / Assert
    let (status, _, body) = get_json(&app, &other, &uri).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.to_string().contains("private"), "no data leaks: {body}");
    assert_eq!(
        app.post_form_as(&other, &uri, &[("Body", "")]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post_form_as(&other, &uri, &[("Status", "canceled")]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(delete_as(&app, &other, &uri).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(get_json(&app, &other, &my_messages).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post_form_as(&other, &my_messages, &[("To", TO), ("From", FROM), ("Body", "x")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(get_json(&app, &other, &rel(&mine, "media")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_json(&app, &other, &rel(&mine, "feedback")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post_form_as(&other, &rel(&mine, "feedback"), &[("Outcome", "confirmed")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Mine is untouched, and the other account's own list is empty.
    let still = get_json(&app, &me, &uri).await.2;
    assert_eq!(still["body"], "private");
    let theirs = get_json(&app, &other, &app.messages_uri(&other).await).await.2;
    assert_eq!(sids_of(&theirs, "messages"), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A validation case: its name, the form sent, the expected error code.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u64);

/// Creates a message with a bare client (for concurrent tasks); returns its sid.
async fn create_with(client: &reqwest::Client, messages_url: &str, who: &TestAccount, body: &str) -> String {
    let res = client
        .post(messages_url)
        .basic_auth(&who.sid, Some(&who.token))
        .form(&[("To", TO), ("From", FROM), ("Body", body)])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    sid_of(&created)
}
