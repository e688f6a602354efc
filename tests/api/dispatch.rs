//! The dispatcher and status callbacks (issue 3): messages really go out, fail in the reserved
//! range, honour `SendAt`, travel between accounts, survive a restart, and report their status
//! changes to a receiver running inside the test, signed as Twilio signs them.
use crate::helpers::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TO: &str = "+15005550006";
const FROM: &str = "+15551234567";

#[tokio::test]
async fn a_queued_message_reaches_delivered_with_date_sent() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("dispatch").await;
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "go")]).await;
    assert_eq!(created["status"], "queued");
    // Act
    let done = wait_for_status(
        &app,
        &acct,
        &uri_of(&created),
        &["delivered", "failed", "undelivered"],
        Duration::from_secs(10),
    )
    .await;
    // Assert
    assert_eq!(done["status"], "delivered");
    assert!(is_rfc2822(&done["date_sent"]), "date_sent is set: {done}");
    assert!(done["error_code"].is_null());
}

#[tokio::test]
async fn the_reserved_range_ends_undelivered_or_failed_with_an_error_code() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("failures").await;
    let undelivered = app
        .send_message(&acct, &[("To", "+15557770001"), ("From", FROM), ("Body", "nobody home")])
        .await;
    let failed = app
        .send_message(&acct, &[("To", "+15557770003"), ("From", FROM), ("Body", "landline")])
        .await;
    let terminal = ["delivered", "failed", "undelivered"];
    // Act
    let u = wait_for_status(&app, &acct, &uri_of(&undelivered), &terminal, Duration::from_secs(10)).await;
    let f = wait_for_status(&app, &acct, &uri_of(&failed), &terminal, Duration::from_secs(10)).await;
    // Assert
    assert_eq!(u["status"], "undelivered");
    assert_eq!(u["error_code"], 30003);
    assert!(u["error_message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(f["status"], "failed");
    assert_eq!(f["error_code"], 30006);
    assert!(f["error_message"].as_str().is_some_and(|m| !m.is_empty()));
    // They stay that way.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(get_json(&app, &acct, &uri_of(&undelivered)).await.2["status"], "undelivered");
}

#[tokio::test]
async fn a_scheduled_message_waits_for_send_at_then_goes_out() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("scheduler").await;
    let send_at = send_at_in(3);
    // Act
    let created = app
        .send_message(
            &acct,
            &[
                ("To", TO),
                ("From", FROM),
                ("Body", "later"),
                ("SendAt", &send_at),
                ("ScheduleType", "fixed"),
            ],
        )
        .await;
    // Assert
    assert_eq!(created["status"], "scheduled");
    let uri = uri_of(&created);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let early = get_json(&app, &acct, &uri).await.2;
    assert_eq!(early["status"], "scheduled", "still waiting for {send_at}");
    assert!(early["date_sent"].is_null());
    let done = wait_for_status(&app, &acct, &uri, &["delivered"], Duration::from_secs(10)).await;
    let sent = parse_rfc2822(done["date_sent"].as_str().unwrap());
    let due = time::PrimitiveDateTime::parse(
        &send_at,
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .unwrap()
    .assume_utc();
    assert!(sent >= due, "sent at {sent}, before SendAt {due}");
}

#[tokio::test]
async fn a_message_to_another_accounts_number_arrives_there_as_inbound() {
    // Arrange: B has sent from +15551230002, which makes it B's number.
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    app.send_message(&b, &[("To", TO), ("From", "+15551230002"), ("Body", "B's first")])
        .await;
    // Act
    let sent = app
        .send_message(&a, &[("To", "+15551230002"), ("From", "+15551230001"), ("Body", "hi B, it's A")])
        .await;
    // Assert
    wait_for_status(&app, &a, &uri_of(&sent), &["delivered"], Duration::from_secs(10)).await;
    let b_messages = app.messages_uri(&b).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let inbound = loop {
        let list = get_json(&app, &b, &b_messages).await.2;
        let found = list["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["direction"] == "inbound")
            .cloned();
        if let Some(m) = found {
            break m;
        }
        assert!(Instant::now() < deadline, "no inbound message in B's list: {list}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(inbound["status"], "received");
    assert_eq!(inbound["body"], "hi B, it's A");
    assert_eq!(inbound["from"], "+15551230001");
    assert_eq!(inbound["to"], "+15551230002");
    assert_eq!(inbound["account_sid"], b.sid.as_str());
    assert_ne!(inbound["sid"], sent["sid"]);
    // B can fetch it at its uri; A cannot.
    assert_eq!(get_json(&app, &b, &uri_of(&inbound)).await.0, StatusCode::OK);
    assert_eq!(get_json(&app, &a, &uri_of(&inbound)).await.0, StatusCode::NOT_FOUND);
    // A's list holds only its outbound message.
    let a_list = get_json(&app, &a, &app.messages_uri(&a).await).await.2;
    assert_eq!(sids_of(&a_list, "messages"), vec![sid_of(&sent)]);
}

#[tokio::test]
async fn a_message_being_sent_cannot_be_deleted() {
    // Arrange: a slow dispatcher keeps the message in `sending` for a minute.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    config.dispatch_interval_ms = 60_000;
    let app = spawn_with(dir, config).await;
    let acct = app.create_account("slow").await;
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "in flight")]).await;
    let uri = uri_of(&created);
    wait_for_status(&app, &acct, &uri, &["sending"], Duration::from_secs(10)).await;
    // Act
    let res = delete_as(&app, &acct, &uri).await;
    // Assert
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], 20009, "{body}");
    assert_eq!(get_json(&app, &acct, &uri).await.0, StatusCode::OK, "still there");
    // And it is too late to cancel it.
    let res = app.post_form_as(&acct, &uri, &[("Status", "canceled")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_restart_mid_dispatch_resumes_and_delivers_exactly_once() {
    // Arrange: a slower dispatcher, so the message is caught mid-way.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = test_config(&dir);
    config.dispatch_interval_ms = 1_000;
    let app = spawn_with(dir, config).await;
    let acct = app.create_account("restart").await;
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "survive")]).await;
    let uri = uri_of(&created);
    let before = wait_for_status(&app, &acct, &uri, &["sending", "sent"], Duration::from_secs(10)).await;
    // Act: restart (with the fast test pace) while it is in flight.
    let (dir, mut config) = app.stop().await;
    config.bind = "127.0.0.1:0".into();
    config.dispatch_interval_ms = 20;
    let app = spawn_with(dir, config).await;
    // Assert
    let after_restart = get_json(&app, &acct, &uri).await.2;
    assert_ne!(after_restart["status"], "queued", "no step undone (was {})", before["status"]);
    let done = wait_for_status(&app, &acct, &uri, &["delivered", "failed", "undelivered"], Duration::from_secs(10)).await;
    assert_eq!(done["status"], "delivered");
    assert!(!done["date_sent"].is_null());
    let list = get_json(&app, &acct, &app.messages_uri(&acct).await).await.2;
    assert_eq!(sids_of(&list, "messages"), vec![sid_of(&created)], "exactly once: {list}");
}

#[tokio::test]
async fn a_queued_message_survives_an_immediate_restart() {
    // Arrange
    let app = spawn_app().await;
    let acct = app.create_account("quick restart").await;
    let created = app.send_message(&acct, &[("To", TO), ("From", FROM), ("Body", "right away")]).await;
    // Act
    let app = app.restart().await;
    // Assert
    let done = wait_for_status(
        &app,
        &acct,
        &uri_of(&created),
        &["delivered", "failed", "undelivered"],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done["status"], "delivered");
    let list = get_json(&app, &acct, &app.messages_uri(&acct).await).await.2;
    assert_eq!(sids_of(&list, "messages"), vec![sid_of(&created)]);
}

// ---------------------------------------------------------------------------------------------
// Status callbacks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_callbacks_arrive_in_order_with_twilios_parameters_and_signature() {
    // Arrange
    let receiver = Receiver::start(0).await;
    let app = spawn_app().await;
    let acct = app.create_account("callbacks").await;
    // Act
    let created = app
        .send_message(
            &acct,
            &[("To", TO), ("From", FROM), ("Body", "tell me"), ("StatusCallback", &receiver.url)],
        )
        .await;
    // Assert
    let calls = receiver.wait_for_ok(3, Duration::from_secs(10)).await;
    let statuses: Vec<String> = calls.iter().map(|c| c.param("MessageStatus")).collect();
    assert_eq!(statuses, vec!["sending", "sent", "delivered"]);
    for call in &calls {
        assert_eq!(call.param("MessageSid"), sid_of(&created));
        assert_eq!(call.param("AccountSid"), acct.sid);
        assert_eq!(call.param("From"), FROM);
        assert_eq!(call.param("To"), TO);
        assert_eq!(call.param("ApiVersion"), "2010-04-01");
        assert!(
            call.content_type.starts_with("application/x-www-form-urlencoded"),
            "{}",
            call.content_type
        );
        let expected = signpost::crypto::twilio_signature(&acct.token, &receiver.url, &call.params);
        assert_eq!(
            call.signature.as_deref(),
            Some(expected.as_str()),
            "X-Twilio-Signature for {}",
            call.param("MessageStatus")
        );
    }
    let wrong = signpost::crypto::twilio_signature("not the token", &receiver.url, &calls[0].params);
    assert_ne!(calls[0].signature.as_deref(), Some(wrong.as_str()));
    receiver.stop().await;
}

#[tokio::test]
async fn a_failed_message_reports_its_error_code_in_the_callback() {
    // Arrange
    let receiver = Receiver::start(0).await;
    let app = spawn_app().await;
    let acct = app.create_account("failing callbacks").await;
    // Act
    app.send_message(
        &acct,
        &[
            ("To", "+15557770003"),
            ("From", FROM),
            ("Body", "x"),
            ("StatusCallback", &receiver.url),
        ],
    )
    .await;
    // Assert: sending, then failed with ErrorCode.
    let calls = receiver.wait_for_ok(2, Duration::from_secs(10)).await;
    let last = calls.last().unwrap();
    assert_eq!(last.param("MessageStatus"), "failed");
    assert_eq!(last.param("ErrorCode"), "30006");
    let expected = signpost::crypto::twilio_signature(&acct.token, &receiver.url, &last.params);
    assert_eq!(last.signature.as_deref(), Some(expected.as_str()));
    receiver.stop().await;
}

#[tokio::test]
async fn a_receiver_that_fails_twice_still_gets_every_callback_in_order() {
    // Arrange: the receiver answers 500 to its first two requests.
    let receiver = Receiver::start(2).await;
    let app = spawn_app().await;
    let acct = app.create_account("flaky receiver").await;
    // Act
    let created = app
        .send_message(
            &acct,
            &[("To", TO), ("From", FROM), ("Body", "retry me"), ("StatusCallback", &receiver.url)],
        )
        .await;
    // Assert
    let ok = receiver.wait_for_ok(3, Duration::from_secs(15)).await;
    let statuses: Vec<String> = ok.iter().map(|c| c.param("MessageStatus")).collect();
    assert_eq!(statuses, vec!["sending", "sent", "delivered"], "in order despite the failures");
    let all = receiver.calls();
    assert_eq!(all[0].answered, 500);
    assert_eq!(all[1].answered, 500);
    assert_eq!(
        all[0].param("MessageStatus"),
        "sending",
        "the first callback was retried, not skipped"
    );
    assert_eq!(all[1].param("MessageStatus"), "sending");
    for call in &ok {
        assert_eq!(call.param("MessageSid"), sid_of(&created));
        let expected = signpost::crypto::twilio_signature(&acct.token, &receiver.url, &call.params);
        assert_eq!(call.signature.as_deref(), Some(expected.as_str()));
    }
    receiver.stop().await;
}

#[tokio::test]
async fn a_dead_callback_url_never_blocks_creation_and_is_retried() {
    // Arrange: a port nobody listens on (yet).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{port}/status");
    let app = spawn_app().await;
    let acct = app.create_account("dead receiver").await;
    let messages = app.messages_uri(&acct).await;
    // Act
    let mut created = Vec::new();
    for i in 0..5 {
        let started = Instant::now();
        let res = app
            .post_form_as(
                &acct,
                &messages,
                &[("To", TO), ("From", FROM), ("Body", &format!("m{i}")), ("StatusCallback", &dead)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(started.elapsed() < Duration::from_secs(2), "creation took {:?}", started.elapsed());
        created.push(res.json::<Value>().await.unwrap());
    }
    // Assert: the dispatcher is not held up, nor is the API.
    for m in &created {
        wait_for_status(&app, &acct, &uri_of(m), &["delivered"], Duration::from_secs(10)).await;
    }
    let started = Instant::now();
    assert_eq!(get_json(&app, &acct, &messages).await.0, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The receiver comes to life on that port: the retries reach it.
    let receiver = Receiver::start_on(port, 0).await;
    let calls = receiver.wait_for_ok(15, Duration::from_secs(20)).await;
    for m in &created {
        let statuses: Vec<String> = calls
            .iter()
            .filter(|c| c.param("MessageSid") == sid_of(m))
            .map(|c| c.param("MessageStatus"))
            .collect();
        assert_eq!(statuses, vec!["sending", "sent", "delivered"], "for {}", sid_of(m));
    }
    receiver.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Helpers: a status-callback receiver running in the test process
// ---------------------------------------------------------------------------------------------

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Call {
    signature: Option<String>,
    content_type: String,
    params: Vec<(String, String)>,
    answered: u16,
}

impl Call {
    fn param(&self, name: &str) -> String {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.params))
    }
}

#[derive(Default)]
struct Hook {
    calls: Mutex<Vec<Call>>,
    fail_first: AtomicUsize,
}

async fn hook(req: HttpRequest, body: web::Bytes, hook: web::Data<Hook>) -> HttpResponse {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let fail = hook
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answered = if fail { 500 } else { 200 };
    hook.calls.lock().unwrap().push(Call {
        signature: header("x-twilio-signature"),
        content_type: header("content-type").unwrap_or_default(),
        params: serde_urlencoded::from_bytes(&body).unwrap_or_default(),
        answered,
    });
    if fail {
        HttpResponse::InternalServerError().finish()
    } else {
        HttpResponse::Ok().finish()
    }
}

/// A tiny HTTP server recording the status callbacks POSTed to `url`.
struct Receiver {
    url: String,
    hook: web::Data<Hook>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    /// Starts on a free port; answers 500 to the first `fail_first` requests.
    async fn start(fail_first: usize) -> Receiver {
        Self::start_on(0, fail_first).await
    }

    async fn start_on(port: u16, fail_first: usize) -> Receiver {
        let hook_data = web::Data::new(Hook {
            calls: Mutex::default(),
            fail_first: AtomicUsize::new(fail_first),
        });
        let data = hook_data.clone();
        let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/status", web::post().to(hook)))
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", port))
            .expect("receiver binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/status"),
            hook: hook_data,
            handle,
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.hook.calls.lock().unwrap().clone()
    }

    /// Waits until `n` requests were answered 200; returns those, in arrival order.
    async fn wait_for_ok(&self, n: usize, limit: Duration) -> Vec<Call> {
        let deadline = Instant::now() + limit;
        loop {
            let ok: Vec<Call> = self.calls().into_iter().filter(|c| c.answered == 200).collect();
            if ok.len() >= n {
                return ok;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} callbacks within {limit:?}: {:?}",
                ok.len(),
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}
