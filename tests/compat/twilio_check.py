#!/usr/bin/env python3
"""Twilio compatibility check: the real `twilio` helper library against a running signpost.

Usage: twilio_check.py BASE_URL        (e.g. http://127.0.0.1:8080)

The SDK is used unmodified. Only its transport is swapped: a TwilioHttpClient subclass
rewrites the hard-coded https://api.twilio.com prefix to BASE_URL, so every path
(/2010-04-01/Accounts/{AC}/Messages.json, paging via next_page_uri, ...) is built by the
SDK itself. The only request not made by the SDK is account creation, which is
discovered from GET / (subresource_uris.accounts).

Prints one line per check and finally "twilio-compat: N passed, M failed"; exits
non-zero if any check failed.
"""

import http.server
import queue
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime
from urllib.parse import parse_qsl, urljoin

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

TWILIO_BASE = "https://api.twilio.com"
TO = "+15005550006"
FROM = "+15005550010"
HTTP_TIMEOUT = 15  # seconds, per request
CALLBACK_WAIT = 10  # seconds to wait for sending/sent/delivered callbacks


class LocalHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, with api.twilio.com rewritten to the local server."""

    def __init__(self, base_url):
        super().__init__(timeout=HTTP_TIMEOUT)
        self.base_url = base_url.rstrip("/")
        self.seen_urls = []
        if self.session is not None:
            # Loopback only: never route through a proxy from the environment.
            self.session.trust_env = False

    def request(self, method, url, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        if not url.startswith(TWILIO_BASE):
            raise AssertionError(f"SDK asked for an unexpected URL: {url}")
        url = self.base_url + url[len(TWILIO_BASE):]
        self.seen_urls.append((method, url, dict(params or {})))
        return super().request(method, url, params=params, data=data, headers=headers,
                               auth=auth, timeout=timeout, allow_redirects=allow_redirects)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn, *args):
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, never raised
            self.failed += 1
            print(f"FAIL {name}: {type(exc).__name__}: {exc}")
            traceback.print_exc(limit=4, file=sys.stdout)
            return False
        self.passed += 1
        print(f"ok   {name}")
        return True


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_rest_error(fn, status, code):
    try:
        fn()
    except TwilioRestException as exc:
        check(exc.status == status, f"expected HTTP {status}, got {exc.status} ({exc.msg})")
        check(exc.code == code, f"expected error code {code}, got {exc.code} ({exc.msg})")
        return exc
    raise AssertionError(f"expected TwilioRestException {status}/{code}, nothing was raised")


# --------------------------------------------------------------------------- callbacks

class CallbackReceiver:
    """A status-callback receiver on 127.0.0.1 (random port), served from a thread."""

    def __init__(self):
        self.received = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                outer.received.put({
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "params": dict(parse_qsl(body, keep_blank_values=True)),
                })
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def collect_until(self, predicate, timeout):
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate(got):
            try:
                got.append(self.received.get(timeout=0.1))
            except queue.Empty:
                pass
        return got

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- main

def create_account(base_url):
    session = requests.Session()
    session.trust_env = False
    root = session.get(base_url + "/", headers={"Accept": "application/json"}, timeout=HTTP_TIMEOUT)
    check(root.status_code == 200, f"GET / answered {root.status_code}")
    accounts_uri = root.json()["subresource_uris"]["accounts"]
    resp = session.post(urljoin(base_url + "/", accounts_uri),
                        data={"FriendlyName": f"twilio-compat {uuid.uuid4().hex[:8]}"},
                        headers={"Accept": "application/json"}, timeout=HTTP_TIMEOUT)
    check(resp.status_code == 201, f"account creation answered {resp.status_code}: {resp.text}")
    body = resp.json()
    check(body["sid"].startswith("AC") and body.get("auth_token"), f"unexpected account: {body}")
    return body["sid"], body["auth_token"]


def main():
    if len(sys.argv) != 2:
        print("usage: twilio_check.py BASE_URL", file=sys.stderr)
        return 2
    base_url = sys.argv[1].rstrip("/")
    checks = Checks()
    state = {}

    def setup():
        sid, token = create_account(base_url)
        http_client = LocalHttpClient(base_url)
        state.update(sid=sid, token=token, http=http_client,
                     client=Client(sid, token, http_client=http_client))

    if not checks.run("discover accounts from / and create a fresh account", setup):
        print(f"twilio-compat: {checks.passed} passed, {checks.failed} failed")
        return 1
    client = state["client"]
    sid = state["sid"]
    token = state["token"]
    print(f"     account {sid}")

    # ---- create with body
    def create_body():
        m = client.messages.create(to=TO, from_=FROM, body="Hello from twilio-python")
        check(m.sid and m.sid.startswith("SM") and len(m.sid) == 34, f"bad message sid {m.sid!r}")
        check(m.account_sid == sid, f"account_sid {m.account_sid!r} != {sid}")
        check(m.to == TO and m.from_ == FROM, f"to/from {m.to!r}/{m.from_!r}")
        check(m.body == "Hello from twilio-python", f"body {m.body!r}")
        check(m.status in ("queued", "sending", "sent", "delivered"), f"status {m.status!r}")
        check(m.direction == "outbound-api", f"direction {m.direction!r}")
        check(m.num_segments == "1", f"num_segments {m.num_segments!r} (a string in Twilio's JSON)")
        check(m.num_media == "0", f"num_media {m.num_media!r} (a string in Twilio's JSON)")
        check(m.api_version == "2010-04-01", f"api_version {m.api_version!r}")
        check(isinstance(m.date_created, datetime), f"date_created not RFC 2822: {m.date_created!r}")
        check(isinstance(m.date_updated, datetime), f"date_updated not RFC 2822: {m.date_updated!r}")
        check(m.uri == f"/2010-04-01/Accounts/{sid}/Messages/{m.sid}.json", f"uri {m.uri!r}")
        check(set(m.subresource_uris or {}) >= {"media", "feedback"},
              f"subresource_uris {m.subresource_uris!r}")
        state["msg"] = m
    checks.run("messages.create(body=...)", create_body)

    # ---- create with media_url
    media_urls = ["https://example.com/cat.jpg", "https://example.com/dog.png"]

    def create_media():
        m = client.messages.create(to=TO, from_=FROM, body="with pictures", media_url=media_urls)
        check(m.num_media == "2", f"num_media {m.num_media!r}, expected '2'")
        state["media_msg"] = m
    checks.run("messages.create(media_url=[2 urls])", create_media)

    def create_media_only():
        m = client.messages.create(to=TO, from_=FROM, media_url=[media_urls[0]])
        check(m.num_media == "1", f"num_media {m.num_media!r}, expected '1'")
    checks.run("messages.create(media_url only, no body)", create_media_only)

    # ---- media
    def media_list():
        m = state["media_msg"]
        media = client.messages(m.sid).media.list()
        check(len(media) == 2, f"media.list() returned {len(media)} items, expected 2")
        for item in media:
            check(item.sid.startswith("ME"), f"media sid {item.sid!r}")
            check(item.parent_sid == m.sid, f"parent_sid {item.parent_sid!r}")
            check(item.account_sid == sid, f"account_sid {item.account_sid!r}")
            check(isinstance(item.date_created, datetime), "media date_created not RFC 2822")
        types = sorted(i.content_type for i in media)
        check(types == ["image/jpeg", "image/png"], f"content types {types}")
        state["media"] = media
    checks.run("messages(sid).media.list()", media_list)

    def media_fetch_delete():
        m = state["media_msg"]
        first = state["media"][0]
        fetched = client.messages(m.sid).media(first.sid).fetch()
        check(fetched.sid == first.sid and fetched.content_type == first.content_type,
              f"fetched media {fetched.sid} {fetched.content_type}")
        check(client.messages(m.sid).media(first.sid).delete() is True, "media delete did not return True")
        left = client.messages(m.sid).media.list()
        check([i.sid for i in left] == [state["media"][1].sid], f"after delete: {[i.sid for i in left]}")
        expect_rest_error(lambda: client.messages(m.sid).media(first.sid).fetch(), 404, 20404)
    checks.run("media(sid).fetch() / .delete()", media_fetch_delete)

    # ---- fetch
    def fetch():
        m = state["msg"]
        f = client.messages(m.sid).fetch()
        check(f.sid == m.sid and f.body == m.body and f.to == TO, f"fetched {f.sid} {f.body!r}")
        check(f.date_created == m.date_created, f"date_created changed: {f.date_created} vs {m.date_created}")
    checks.run("messages(sid).fetch()", fetch)

    # ---- feedback
    def feedback():
        m = state["msg"]
        fb = client.messages(m.sid).feedback.create(outcome="confirmed")
        check(fb.outcome == "confirmed", f"outcome {fb.outcome!r}")
        check(fb.message_sid == m.sid, f"message_sid {fb.message_sid!r}")
    checks.run("messages(sid).feedback.create(outcome='confirmed')", feedback)

    # ---- redact
    def redact():
        m = state["msg"]
        u = client.messages(m.sid).update(body="")
        check(u.sid == m.sid and u.body == "", f"after update(body=''): body {u.body!r}")
        f = client.messages(m.sid).fetch()
        check(f.body == "", f"redaction did not stick: body {f.body!r}")
    checks.run("messages(sid).update(body='') redacts", redact)

    # ---- delete
    def delete():
        m = client.messages.create(to=TO, from_=FROM, body="to be deleted")
        # A message that is being sent cannot be deleted (20009); wait until it is not.
        deadline = time.monotonic() + CALLBACK_WAIT
        while True:
            try:
                result = client.messages(m.sid).delete()
                break
            except TwilioRestException as exc:
                if exc.code != 20009 or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        check(result is True, f"delete() returned {result!r}, expected True (204)")
        expect_rest_error(lambda: client.messages(m.sid).fetch(), 404, 20404)
        state["deleted_sid"] = m.sid
    checks.run("messages(sid).delete() then fetch -> 404/20404", delete)

    # ---- paging
    def paging_setup():
        created = []
        for i in range(7):
            created.append(client.messages.create(to=TO, from_=FROM, body=f"page test {i}").sid)
        state["paged"] = created
    checks.run("create 7 messages for paging", paging_setup)

    def check_walk(sids, label):
        dupes = sorted({s for s in sids if sids.count(s) > 1})
        check(not dupes, f"{label}: sids seen more than once: {dupes}")
        missing = set(state.get("paged", [])) - set(sids)
        check(not missing, f"{label}: created messages never seen: {sorted(missing)}")
        check(state.get("deleted_sid") not in sids, f"{label}: deleted message still listed")

    def list_paged():
        before = len(state["http"].seen_urls)
        sids = [m.sid for m in client.messages.list(page_size=2)]
        requests_made = len(state["http"].seen_urls) - before
        check(requests_made >= 4, f"list(page_size=2) made {requests_made} requests; expected >= 4 pages")
        check_walk(sids, "list(page_size=2)")
        state["all_sids"] = sids
    checks.run("messages.list(page_size=2) across pages, every sid once", list_paged)

    def stream_paged():
        sids = [m.sid for m in client.messages.stream(page_size=2)]
        check_walk(sids, "stream(page_size=2)")
        check(sorted(sids) == sorted(state.get("all_sids", sids)), "stream() and list() disagree")
        first_paged = state["paged"][-1]
        check(sids[0] == first_paged, f"newest first: expected {first_paged}, got {sids[0]}")
    checks.run("messages.stream(page_size=2), newest first, every sid once", stream_paged)

    def page_walk():
        page = client.messages.page(page_size=2)
        pages, sids = 0, []
        while page is not None:
            pages += 1
            recs = list(page)
            check(len(recs) <= 2, f"page {pages} has {len(recs)} records for PageSize=2")
            sids += [m.sid for m in recs]
            page = page.next_page()
            check(pages < 1000, "next_page_uri never ends")
        check(pages >= 4, f"only {pages} pages for {len(sids)} messages at PageSize=2")
        check_walk(sids, "page().next_page()")
    checks.run("messages.page(page_size=2).next_page() walk", page_walk)

    def list_limit():
        got = client.messages.list(limit=5, page_size=2)
        check(len(got) == 5, f"list(limit=5) returned {len(got)}")
    checks.run("messages.list(limit=5, page_size=2)", list_limit)

    def list_filter():
        other_to = "+15005550012"
        m = client.messages.create(to=other_to, from_=FROM, body="filtered")
        got = [x.sid for x in client.messages.list(to=other_to, page_size=2)]
        check(got == [m.sid], f"list(to={other_to}) returned {got}")
    checks.run("messages.list(to=...) filter", list_filter)

    # ---- errors
    checks.run("invalid to -> TwilioRestException 21211", lambda: expect_rest_error(
        lambda: client.messages.create(to="not-a-phone-number", from_=FROM, body="x"), 400, 21211))
    checks.run("magic To +15005550001 -> 21211", lambda: expect_rest_error(
        lambda: client.messages.create(to="+15005550001", from_=FROM, body="x"), 400, 21211))
    checks.run("no body and no media -> 21602", lambda: expect_rest_error(
        lambda: client.messages.create(to=TO, from_=FROM), 400, 21602))
    checks.run("unknown message -> 404/20404", lambda: expect_rest_error(
        lambda: client.messages("SM" + "0" * 32).fetch(), 404, 20404))

    def bad_credentials():
        bad = Client(sid, "0" * 32, http_client=LocalHttpClient(base_url))
        # (fetch, not list: the SDK turns any non-200 list answer into a plain TwilioException)
        expect_rest_error(lambda: bad.messages(state["msg"].sid).fetch(), 401, 20003)
    checks.run("wrong auth token -> 401/20003", bad_credentials)

    # ---- status callbacks, validated with the SDK's RequestValidator
    receiver = CallbackReceiver()
    try:
        def run_callbacks(path, label):
            url = receiver.url(path)
            m = client.messages.create(to=TO, from_=FROM, body="callback " + label, status_callback=url)
            wanted = ["sending", "sent", "delivered"]

            def mine(got):
                return [c for c in got if c["params"].get("MessageSid") == m.sid]

            def done(got):
                return all(any(c["params"].get("MessageStatus") == s for c in mine(got)) for s in wanted)

            got = mine(receiver.collect_until(done, CALLBACK_WAIT))
            statuses = [c["params"].get("MessageStatus") for c in got]
            check(done(got), f"callbacks within {CALLBACK_WAIT}s: {statuses}, wanted {wanted}")
            firsts = [statuses.index(s) for s in wanted]
            check(firsts == sorted(firsts), f"callbacks out of order: {statuses}")
            validator = RequestValidator(token)
            wrong = RequestValidator("f" * 32)
            for c in got:
                sig = c["headers"].get("x-twilio-signature")
                check(sig, f"callback {c['params'].get('MessageStatus')} has no X-Twilio-Signature")
                check(c["path"] == path, f"callback path {c['path']!r}, expected {path!r}")
                check(c["headers"].get("content-type", "").startswith("application/x-www-form-urlencoded"),
                      f"callback content-type {c['headers'].get('content-type')!r}")
                p = c["params"]
                check(p.get("AccountSid") == sid and p.get("From") == FROM and p.get("To") == TO
                      and p.get("ApiVersion") == "2010-04-01",
                      f"callback params {p}")
                check(validator.validate(url, p, sig),
                      f"RequestValidator rejected the {p.get('MessageStatus')} callback: url={url} "
                      f"params={p} signature={sig}")
                check(not wrong.validate(url, p, sig), "a wrong auth token validates too")
            print(f"     {label}: {len(got)} callbacks validated: {statuses}")

        checks.run("status callbacks sending/sent/delivered, RequestValidator accepts each",
                   run_callbacks, "/status", "plain path")
        checks.run("status callbacks to a URL with a query string, RequestValidator accepts each",
                   run_callbacks, "/status/cb?ref=abc&n=1", "query string")
    finally:
        receiver.close()

    print(f"twilio-compat: {checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
