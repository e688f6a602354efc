"""Schemathesis hooks for the check against signpost's own OpenAPI document.

The document states every rule JSON Schema can state (patterns, enums, lengths, required
fields, no NUL). A few rules depend on server state and cannot be written in a schema;
in *positive* cases only (negative cases are sent exactly as generated), these hooks
make the request one that a real account could make:

* a path sid that has the documented shape is replaced by a real one of the test account
  (the account, a message, its media, a session), so operations are exercised on data
  that exists instead of answering 404 to random sids;
* CreateMessage: `Body` or `MediaUrl` must be present (Twilio's 21602), media URLs must
  parse as URLs, `StatusCallback` must go to an allowed host (loopback here, dropped),
  `SendAt` must be 15 min..35 days ahead with `ScheduleType=fixed`, and the magic test
  numbers that always fail are avoided;
* an update never closes or suspends the test account itself (only sub-accounts).

Environment: SIGNPOST_ACCOUNT_SID, SIGNPOST_MESSAGE_SID, SIGNPOST_MEDIA_SID,
SIGNPOST_SESSION_SID, SIGNPOST_ST_STATS (a file: one JSON line per response).
"""

import json
import os
import re
import threading
from datetime import datetime, timedelta, timezone

import schemathesis
from schemathesis import GenerationMode

ACCOUNT = os.environ["SIGNPOST_ACCOUNT_SID"]
MESSAGE = os.environ["SIGNPOST_MESSAGE_SID"]
MEDIA = os.environ["SIGNPOST_MEDIA_SID"]
SESSION = os.environ["SIGNPOST_SESSION_SID"]
STATS = os.environ.get("SIGNPOST_ST_STATS")
SID = re.compile(r"^(AC|SM|ME|US)[0-9a-f]{32}$")
URL = re.compile(r"^https?://[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)*(/[A-Za-z0-9._~/-]*)?$")
_lock = threading.Lock()


def _positive(case):
    meta = getattr(case, "meta", None)
    generation = getattr(meta, "generation", None)
    return getattr(generation, "mode", GenerationMode.POSITIVE) == GenerationMode.POSITIVE


def _real_sids(case):
    params = case.path_parameters or {}
    path = case.operation.path
    for name, value in list(params.items()):
        if not isinstance(value, str) or not SID.match(value):
            continue
        if name == "AccountSid":
            params[name] = ACCOUNT
        elif name == "MessageSid" or (name == "Sid" and path.endswith("/Messages/{Sid}.json")):
            params[name] = MESSAGE
        elif name == "Sid" and "/Media/" in path:
            params[name] = MEDIA
        elif name == "Sid" and "/Sessions/" in path:
            params[name] = SESSION
    case.path_parameters = params


def _create_message(body):
    body = dict(body or {})
    for number in ("To", "From"):
        value = body.get(number)
        if not isinstance(value, str) or value.startswith("+1500555") or value.startswith("+1555777"):
            body[number] = "+15005550006" if number == "To" else "+15551234567"
    media = body.get("MediaUrl")
    if media is not None:
        media = media if isinstance(media, list) else [media]
        body["MediaUrl"] = [m if isinstance(m, str) and URL.match(m) else "https://example.com/st.png" for m in media][:10]
    if not body.get("Body") and not body.get("MediaUrl"):
        body["Body"] = "schemathesis"
    body.pop("StatusCallback", None)
    if body.get("SendAt") or body.get("ScheduleType"):
        body["SendAt"] = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body["ScheduleType"] = "fixed"
    return body


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _positive(case):
        return
    _real_sids(case)
    op = case.operation.definition.raw.get("operationId", "")
    if op == "createMessage" and isinstance(case.body, dict):
        case.body = _create_message(case.body)
    if op.startswith(("updateAccount", "replaceAccount", "patchAccount")) and isinstance(case.body, dict):
        if (case.path_parameters or {}).get("AccountSid") == ACCOUNT and case.body.get("Status") in ("closed", "suspended"):
            case.body = {**case.body, "Status": "active"}


@schemathesis.hook
def after_call(context, case, response):
    if not STATS:
        return
    record = {"op": case.operation.definition.raw.get("operationId", case.operation.label),
              "status": response.status_code}
    with _lock, open(STATS, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
