#!/usr/bin/env python3
"""Schemathesis against signpost's own OpenAPI document (the root's `service-desc`).

Usage: openapi_check.py BASE_URL WORK_DIR

1. Follows `service-desc` from GET / to the OpenAPI document (never a hard-coded path),
   creates a fresh account (`accounts`), a message with one media item and a session
   (`sessions`), so that operations run on data that exists.
2. Runs `st run` on the served document with every check (`--checks all`), positive and
   negative data (`--mode all`), and every phase (examples, coverage, fuzzing, and the
   stateful phase that follows the document's OpenAPI `links`), authenticated with the
   fresh account's Basic credentials, at most MAX_EXAMPLES cases per operation.
   st_openapi_hooks.py only adjusts *positive* cases for rules a schema cannot state
   (see its docstring).
3. Reads the JUnit report: one test per operation; an operation also fails if any answer
   was a 5xx.

Prints "openapi-contract: N passed, M failed" (operations) and exits non-zero on any failure.
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

MAX_EXAMPLES = int(os.environ.get("SIGNPOST_ST_MAX_EXAMPLES", "25"))
ST_TIMEOUT = int(os.environ.get("SIGNPOST_ST_TIMEOUT", "900"))
TIMEOUT = 10
HERE = os.path.dirname(os.path.abspath(__file__))


def setup(base):
    http = requests.Session()
    http.trust_env = False
    http.headers["Accept"] = "application/json"
    root = http.get(base + "/", timeout=TIMEOUT)
    root.raise_for_status()
    desc = root.links.get("service-desc", {}).get("url")
    if not desc:
        raise RuntimeError("the root has no service-desc link")
    rels = root.json()["subresource_uris"]
    acc = http.post(urljoin(base + "/", rels["accounts"]), data={"FriendlyName": "schemathesis openapi"}, timeout=TIMEOUT)
    if acc.status_code != 201:
        raise RuntimeError(f"account creation answered {acc.status_code}: {acc.text}")
    acc = acc.json()
    http.auth = (acc["sid"], acc["auth_token"])
    msg = http.post(urljoin(base + "/", acc["subresource_uris"]["messages"]),
                    data={"To": "+15005550006", "From": "+15551234567", "Body": "openapi",
                          "MediaUrl": "https://example.com/openapi.jpg"}, timeout=TIMEOUT)
    if msg.status_code != 201:
        raise RuntimeError(f"message creation answered {msg.status_code}: {msg.text}")
    msg = msg.json()
    deadline = time.monotonic() + TIMEOUT
    while msg["status"] != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
        msg = http.get(urljoin(base + "/", msg["uri"]), timeout=TIMEOUT).json()
    media = http.get(urljoin(base + "/", msg["subresource_uris"]["media"]), timeout=TIMEOUT).json()
    session = http.post(urljoin(base + "/", rels["sessions"]), timeout=TIMEOUT)
    if session.status_code != 201:
        raise RuntimeError(f"session creation answered {session.status_code}: {session.text}")
    return urljoin(base + "/", desc), acc, {
        "SIGNPOST_ACCOUNT_SID": acc["sid"],
        "SIGNPOST_MESSAGE_SID": msg["sid"],
        "SIGNPOST_MEDIA_SID": media["media_list"][0]["sid"],
        "SIGNPOST_SESSION_SID": session.json()["sid"],
    }


def main():
    if len(sys.argv) != 3:
        print("usage: openapi_check.py BASE_URL WORK_DIR", file=sys.stderr)
        return 2
    base, work = sys.argv[1].rstrip("/"), sys.argv[2]
    os.makedirs(work, exist_ok=True)
    try:
        spec_url, acc, fixtures = setup(base)
    except Exception as exc:  # noqa: BLE001
        print(f"FAIL openapi setup: {exc}")
        print("openapi-contract: 0 passed, 1 failed")
        return 1
    spec = requests.get(spec_url, timeout=TIMEOUT, proxies={"http": None}).json()
    print(f"     {spec_url}: OpenAPI {spec['openapi']}, "
          f"{sum(len(v) for v in spec['paths'].values())} operations on {len(spec['paths'])} paths")

    stats = os.path.join(work, "st-stats.txt")
    junit = os.path.join(work, "st-junit.xml")
    for path in (stats, junit):
        if os.path.exists(path):
            os.remove(path)
    env = dict(os.environ, **fixtures, SIGNPOST_ST_STATS=stats,
               SCHEMATHESIS_HOOKS=os.path.join(HERE, "st_openapi_hooks.py"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    st = os.path.join(os.path.dirname(sys.executable), "st")
    cmd = [st, "run", spec_url,
           "--url", base,
           "--auth", f"{acc['sid']}:{acc['auth_token']}",
           "--checks", "all",
           "--mode", "all",
           "--phases", "examples,coverage,fuzzing,stateful",
           "--max-examples", str(MAX_EXAMPLES),
           "--workers", "1",
           "--request-timeout", "10",
           "--generation-database", "none",
           "--seed", os.environ.get("SIGNPOST_ST_SEED", "20100401"),
           "--continue-on-failure",
           "--no-color",
           "--report", "junit", "--report-junit-path", junit]
    print("     " + " ".join(c if not c.startswith(acc["sid"] + ":") else "AC…:***" for c in cmd), flush=True)
    try:
        rc = subprocess.run(cmd, env=env, cwd=work, timeout=ST_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        print(f"FAIL schemathesis did not finish within {ST_TIMEOUT}s")
        rc = -1

    verdicts = {}
    if os.path.exists(junit):
        for tc in ET.parse(junit).getroot().iter("testcase"):
            verdicts[tc.get("name")] = tc.find("failure") is None and tc.find("error") is None
    answers = defaultdict(lambda: defaultdict(int))
    if os.path.exists(stats):
        with open(stats, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                answers[r["op"]][r["status"]] += 1
    total = sum(sum(v.values()) for v in answers.values())
    server_errors = sum(n for v in answers.values() for s, n in v.items() if s >= 500)

    passed, failed = 0, 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            name, oid = f"{method.upper()} {path}", op["operationId"]
            if method == "get" and urljoin(base + "/", path) == spec_url:
                # Schemathesis never calls the document it was loaded from; the Rust crawler
                # and unit tests check it (and HEAD/OPTIONS on it run here).
                print(f"skip {oid}: the document itself")
                continue
            seen = dict(sorted(answers.get(oid, {}).items()))
            problems = []
            if name not in verdicts:
                problems.append("not tested")
            elif not verdicts[name]:
                problems.append("schemathesis reported failures (see above)")
            if any(s >= 500 for s in seen):
                problems.append("a 5xx answer")
            if problems:
                failed += 1
                print(f"FAIL {oid} ({name}): {'; '.join(problems)}; answers {seen}")
            else:
                passed += 1
                print(f"ok   {oid}: answers {seen}")
    if rc != 0 and failed == 0:
        failed += 1
        print(f"FAIL schemathesis exited with {rc}")
    print(f"     {total} requests, {server_errors} answered 5xx")
    print(f"openapi-contract: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
