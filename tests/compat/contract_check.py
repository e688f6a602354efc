#!/usr/bin/env python3
"""Twilio contract check: Schemathesis against a running signpost with Twilio's published schema.

Usage: contract_check.py BASE_URL SCHEMA_PATH WORK_DIR

1. Discovers the accounts collection from GET /, creates a fresh account, a sub-account
   (target of UpdateAccount) and a message with one media item (target of the fetch,
   update, media and feedback operations), and waits until the message is delivered.
2. Runs `st run` in positive mode (valid data only) with the fresh account's Basic
   credentials, the checks not_a_server_error, response_schema_conformance and
   content_type_conformance, at most MAX_EXAMPLES cases per operation, restricted to
   the operations signpost implements. st_hooks.py (beside this file) pins the path
   sids to real resources and keeps generated requests acceptable; see its docstring
   and README.md for why, and for what is deliberately not checked.
3. Reads the JUnit report: one test per operation. An operation also fails here if it
   never got a 2xx answer (then nothing of it was validated against the schema).

Prints "contract: N passed, M failed" (N/M operations) and exits non-zero on any failure.
"""

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from urllib.parse import urljoin

import requests

OPERATIONS = [
    "FetchAccount", "ListAccount", "CreateAccount", "UpdateAccount",
    "CreateMessage", "ListMessage", "FetchMessage", "UpdateMessage", "DeleteMessage",
    "ListMedia", "FetchMedia", "DeleteMedia",
    "CreateMessageFeedback",
]
MAX_EXAMPLES = int(os.environ.get("SIGNPOST_ST_MAX_EXAMPLES", "25"))
ST_TIMEOUT = int(os.environ.get("SIGNPOST_ST_TIMEOUT", "600"))  # seconds for the whole st run
TIMEOUT = 10
HERE = os.path.dirname(os.path.abspath(__file__))


def setup(base):
    http = requests.Session()
    http.trust_env = False
    http.headers["Accept"] = "application/json"
    root = http.get(base + "/", timeout=TIMEOUT)
    root.raise_for_status()
    accounts = urljoin(base + "/", root.json()["subresource_uris"]["accounts"])
    acc = http.post(accounts, data={"FriendlyName": "schemathesis contract"}, timeout=TIMEOUT)
    if acc.status_code != 201:
        raise RuntimeError(f"account creation answered {acc.status_code}: {acc.text}")
    sid, token = acc.json()["sid"], acc.json()["auth_token"]
    http.auth = (sid, token)
    sub = http.post(accounts, data={"FriendlyName": "schemathesis sub-account"}, timeout=TIMEOUT)
    if sub.status_code != 201:
        raise RuntimeError(f"sub-account creation answered {sub.status_code}: {sub.text}")
    messages = urljoin(base + "/", acc.json()["subresource_uris"]["messages"])
    msg = http.post(messages, data={"To": "+15005550006", "From": "+15005550010", "Body": "contract",
                                    "MediaUrl": "https://example.com/contract.jpg"}, timeout=TIMEOUT)
    if msg.status_code != 201:
        raise RuntimeError(f"message creation answered {msg.status_code}: {msg.text}")
    msg = msg.json()
    deadline = time.monotonic() + TIMEOUT
    while msg["status"] != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
        msg = http.get(urljoin(base + "/", msg["uri"]), timeout=TIMEOUT).json()
    if msg["status"] != "delivered":
        raise RuntimeError(f"message not delivered within {TIMEOUT}s: {msg['status']}")
    media = http.get(urljoin(base + "/", msg["subresource_uris"]["media"]), timeout=TIMEOUT).json()
    return {
        "SIGNPOST_BASE_URL": base,
        "SIGNPOST_ACCOUNT_SID": sid,
        "SIGNPOST_AUTH_TOKEN": token,
        "SIGNPOST_SUBACCOUNT_SID": sub.json()["sid"],
        "SIGNPOST_MESSAGE_SID": msg["sid"],
        "SIGNPOST_MEDIA_SID": media["media_list"][0]["sid"],
    }


def main():
    if len(sys.argv) != 4:
        print("usage: contract_check.py BASE_URL SCHEMA_PATH WORK_DIR", file=sys.stderr)
        return 2
    base, schema, work = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    try:
        fixtures = setup(base)
    except Exception as exc:  # noqa: BLE001
        print(f"FAIL contract setup: {exc}")
        print("contract: 0 passed, 1 failed")
        return 1
    print(f"     account {fixtures['SIGNPOST_ACCOUNT_SID']}, message {fixtures['SIGNPOST_MESSAGE_SID']}")

    stats = os.path.join(work, "st-stats.txt")
    junit = os.path.join(work, "st-junit.xml")
    for path in (stats, junit):
        if os.path.exists(path):
            os.remove(path)
    env = dict(os.environ, **fixtures,
               SIGNPOST_ST_STATS=stats,
               SCHEMATHESIS_HOOKS=os.path.join(HERE, "st_hooks.py"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    st = os.path.join(os.path.dirname(sys.executable), "st")
    cmd = [st, "run", schema,
           "--url", base,
           "--auth", f"{fixtures['SIGNPOST_ACCOUNT_SID']}:{fixtures['SIGNPOST_AUTH_TOKEN']}",
           "--mode", "positive",
           "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance,"
                         "success_status_conformance",
           "--phases", "examples,coverage,fuzzing",
           "--max-examples", str(MAX_EXAMPLES),
           "--workers", "1",
           "--request-timeout", "10",
           "--generation-database", "none",
           "--seed", os.environ.get("SIGNPOST_ST_SEED", "20100401"),
           "--continue-on-failure",
           "--no-color",
           "--report", "junit", "--report-junit-path", junit]
    for op in OPERATIONS:
        cmd += ["--include-operation-id", op]
    printable = [c if not c.startswith(fixtures["SIGNPOST_ACCOUNT_SID"] + ":") else "AC…:***" for c in cmd]
    print("     " + " ".join(printable), flush=True)
    try:
        rc = subprocess.run(cmd, env=env, cwd=work, timeout=ST_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        print(f"FAIL schemathesis did not finish within {ST_TIMEOUT}s")
        rc = -1

    # Per-operation verdicts from the JUnit report (test names are "METHOD /path").
    labels = {}
    with open(schema, encoding="utf-8") as f:
        for path, item in json.load(f)["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    labels[operation["operationId"]] = f"{method.upper()} {path}"
    verdicts = {}
    if os.path.exists(junit):
        for tc in ET.parse(junit).getroot().iter("testcase"):
            bad = tc.find("failure") is not None or tc.find("error") is not None
            verdicts[tc.get("name")] = not bad
    ok_statuses = defaultdict(int)
    all_statuses = defaultdict(lambda: defaultdict(int))
    refusals = defaultdict(list)
    if os.path.exists(stats):
        with open(stats, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                op, status = record["op"], str(record["status"])
                all_statuses[op][status] += 1
                if status.startswith("2"):
                    ok_statuses[op] += 1
                else:
                    refusals[op].append(record)
    if os.environ.get("SIGNPOST_ST_VERBOSE"):
        for op, records in refusals.items():
            for r in records:
                print(f"     {op} {r['status']}: {r['request']} body={r['request_body']!r} -> {r['response']}")

    passed, failed = 0, 0
    for op in OPERATIONS:
        name = labels.get(op)
        seen = dict(all_statuses.get(op, {}))
        problems = []
        if name not in verdicts:
            problems.append("no result in the JUnit report")
        elif not verdicts[name]:
            problems.append("schemathesis reported failures (see above)")
        if not ok_statuses.get(op):
            problems.append("no 2xx answer, so nothing was checked against the schema")
        if problems:
            failed += 1
            print(f"FAIL {op}: {'; '.join(problems)}; answers {seen}")
        else:
            passed += 1
            print(f"ok   {op}: answers {seen}")
    if rc != 0 and failed == 0:
        failed += 1
        print(f"FAIL schemathesis exited with {rc}")
    print(f"contract: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
