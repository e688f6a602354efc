#!/usr/bin/env python3
"""Runs every curl example of the documentation against a running signpost server.

Usage: docs_examples.py BASE_URL [--docs DIR] [--timeout SECONDS] [--verbose]

1. Examples. Every fenced code block tagged `sh`, `bash`, `shell` or `console` that contains
   `curl`, in every `docs/*.md` page (docs/index.md first, then the pages in the order the
   index links them, then any others by name), in block order. The blocks of one page run in
   one bash process with `set -euo pipefail`, so a page may define a variable in one block and
   use it in the next. Each page starts with the documented setup: the block of docs/index.md
   tagged `sh setup`, which defines BASE, jget, SID, TOKEN and MESSAGES by creating a fresh
   account through links from the root (BASE is set to BASE_URL first). In `console` blocks
   only the `$ ` lines (and their continuations) run.
   A block passes if it runs to its end (bash stops at the first failing command), within
   the per-block time limit, and if every curl in it checks something: `-f`/`--fail` (the
   request must succeed), or else its answer (typically `-w '%{http_code}'`, or an error
   body) is compared: the curl sits in a `test`/`[`/`case` command, or is captured as
   `VAR=$(curl ...)` and `$VAR` appears in such a command later in the block.
2. Relations. The rels of `RELATIONS` in src/hypermedia/relations.rs (parsed with a regex),
   the rels of the table in docs/relations.md, and the keys of `x-relations` in the served
   OpenAPI document (found through the root's `service-desc` link) must be the same set.
3. Links. Every page of docs/ (and docs/errors/<code>.md) is served, and every server-relative or
   relative Markdown link in it, resolved against the page's URL as a browser does (the
   server drops a trailing `.md`), answers 200.

Prints one line per block and check, then `docs-examples: N passed, M failed`: N is the
number of blocks that passed, M the number of blocks that failed plus the number of failed
relation/link checks. Exits non-zero if M > 0. Needs bash, curl and python3 on PATH.
"""

import argparse
import html
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from urllib.parse import urljoin, urlsplit

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SHELL_TAGS = {"sh", "bash", "shell", "console"}
HTTP_TIMEOUT = 10
VERBOSE = False
RUNNING = []  # the bash of the page being run, so that a signal can stop it too


# --- Markdown -----------------------------------------------------------------------------

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def code_blocks(text):
    """Yields (info words, body, first line number) of each fenced code block."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        start, body = i + 1, []
        i += 1
        while i < len(lines):
            close = FENCE.match(lines[i])
            if close and close.group(2)[0] == fence[0] and len(close.group(2)) >= len(fence) and not close.group(3).strip():
                break
            line = lines[i]
            for _ in range(indent):  # content is de-indented by the fence's indent
                line = line[1:] if line.startswith(" ") else line
            body.append(line)
            i += 1
        i += 1
        yield info.lower().split(), "\n".join(body), start + 1


def prose(text):
    """The page without its code blocks and inline code (where links are not links)."""
    out, lines, skip = [], text.split("\n"), None
    for line in lines:
        m = FENCE.match(line)
        if skip is None and m:
            skip = m.group(2)
            continue
        if skip is not None:
            if m and m.group(2)[0] == skip[0] and len(m.group(2)) >= len(skip) and not m.group(3).strip():
                skip = None
            continue
        out.append(re.sub(r"(`+).*?\1", "", line))
    return "\n".join(out)


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(text):
    """Markdown link targets in the page's prose."""
    return LINK.findall(prose(text))


def runnable(info, body):
    """The shell text of a block to run, or None if it is not an example."""
    if not info or info[0] not in SHELL_TAGS or not re.search(r"\bcurl\b", body):
        return None
    if info[0] != "console":
        return body
    out, cont = [], False
    for line in body.split("\n"):
        if line.startswith("$ ") or cont:
            out.append(line[2:] if line.startswith("$ ") and not cont else line)
            cont = line.rstrip().endswith("\\")
    return "\n".join(out)


# --- curl lint ----------------------------------------------------------------------------

def logical_lines(script):
    """Lines with backslash-newline continuations joined, comments dropped."""
    return [strip_comment(line) for line in re.sub(r"\\\n", " ", script).split("\n")]


def strip_comment(line):
    """Drops a trailing `# comment` that is outside quotes."""
    quote, prev = None, " "
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and prev in " \t;(":
            return line[:i]
        prev = ch
    return line


CURL = re.compile(r"(?:^|[\s;|&(`])curl(?=\s)")


def unchecked_curls(script):
    """The curl invocations of a block that check nothing (see the module docstring)."""
    problems = []
    lines = logical_lines(script)
    text = "\n".join(lines)
    for n, line in enumerate(lines):
        for m in CURL.finditer(line):
            rest = line[m.end():]
            # the curl's own arguments: up to the end of its command (outside quotes)
            args, quote = [], None
            for ch in rest:
                if quote:
                    if ch == quote:
                        quote = None
                elif ch in "'\"":
                    quote = ch
                elif ch in "|;)":
                    break
                args.append(ch)
            args = "".join(args)
            try:
                words = shlex.split(args)
            except ValueError:
                words = args.split()
            fails = any(w in ("--fail", "--fail-with-body") or re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", w) for w in words)
            if fails:
                continue
            # without --fail, what it answers (a status code, an error body) must be compared
            before = line[:m.start() + 1]
            if re.search(r"(^|[\s;(])(test|\[\[?|case)\s", before):
                continue
            var = re.search(r"(\w+)=\$\(\s*$", before)
            if var and re.search(r"(^|[\s;(])(test|\[\[?|case)\s[^\n]*\$\{?" + var.group(1) + r"\b", text):
                continue
            problems.append(f"line {n + 1}: curl without -f/--fail whose answer nothing compares: curl{args[:80]}")
    return problems


# --- running one page ---------------------------------------------------------------------

def run_page(name, setup, blocks, base, block_timeout, work):
    """Runs the blocks of one page in one bash; returns [(ok, detail)] per block."""
    out = os.path.join(work, name.replace("/", "_"))
    os.makedirs(out, exist_ok=True)
    markers = os.path.join(out, "markers")
    script = [
        "set -euo pipefail",
        f"export BASE={shlex.quote(base)}",
        "export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost",
        "unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy CURL_HOME || true",
        f"_mark() {{ echo \"$1\" >>{shlex.quote(markers)}; }}",
        # the command that stops the page, with its line and status
        "_failed() { _mark \"failed:$2:$1:${3//$'\\n'/ }\"; }",
        "trap '_failed $? $LINENO \"$BASH_COMMAND\"' ERR",
        "_mark begin:setup",
        f"{{\n{setup}\n}} >{shlex.quote(os.path.join(out, 'setup.log'))} 2>&1",
        '[[ ${SID:-} =~ ^AC[0-9a-f]{32}$ ]] || { echo "setup: SID is not an account sid" >&2; exit 97; }',
        '[[ ${TOKEN:-} =~ ^[0-9a-f]{32}$ ]] || { echo "setup: TOKEN is not an auth token" >&2; exit 97; }',
        '[[ ${MESSAGES:-} == /* ]] || { echo "setup: MESSAGES is not a server path" >&2; exit 97; }',
        "_mark end:setup",
    ]
    starts = []  # the script line of each block's first line
    for i, (_, body) in enumerate(blocks):
        log = shlex.quote(os.path.join(out, f"{i + 1}.log"))
        script.append(f"_mark begin:{i + 1}")
        starts.append(sum(part.count("\n") + 1 for part in script) + 2)
        script += [f"{{\n{body}\n}} >{log} 2>&1", f"_mark end:{i + 1}"]
    path = os.path.join(out, "page.sh")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(script) + "\n")

    stderr = open(os.path.join(out, "bash.stderr"), "w", encoding="utf-8")
    proc = subprocess.Popen(["bash", path], cwd=out, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                            start_new_session=True)
    RUNNING[:] = [proc]
    current, since, timed_out = None, time.monotonic(), None
    while proc.poll() is None:
        time.sleep(0.05)
        seen = read_markers(markers)
        running = seen[-1][6:] if seen and seen[-1].startswith("begin:") else None
        if running != current:
            current, since = running, time.monotonic()
        if current is not None and time.monotonic() - since > block_timeout:
            timed_out = current
            kill(proc)
            break
    proc.wait()
    RUNNING.clear()
    stderr.close()
    failure = next((m.split(":", 3) for m in reversed(read_markers(markers)) if m.startswith("failed:")), None)
    ended = {m[4:] for m in read_markers(markers) if m.startswith("end:")}
    begun = {m[6:] for m in read_markers(markers) if m.startswith("begin:")}

    def tail(log, n=25):
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                lines = f.read().rstrip("\n").split("\n")
        except OSError:
            return ""
        return "\n".join("        | " + l for l in lines[-n:])

    results = []
    if "setup" not in ended:
        why = f"timed out after {block_timeout}s" if timed_out == "setup" else f"failed (exit status {proc.returncode})"
        results.append((False, f"the setup block {why}; its output:\n" + tail(os.path.join(out, "setup.log"))
                        + "\n" + tail(os.path.join(out, "bash.stderr"), 5)))
        results += [(False, "not run (the setup failed)")] * (len(blocks) - 1)
        return results
    for i, _ in enumerate(blocks):
        key = str(i + 1)
        if key in ended:
            results.append((True, tail(os.path.join(out, f"{key}.log"), 200) if VERBOSE else ""))
        elif key in begun:
            why = f"timed out after {block_timeout}s" if timed_out == key else f"stopped with exit status {proc.returncode}"
            if failure and timed_out != key:
                _, line, rc, command = failure
                near = blocks[i][0] + int(line) - starts[i] if line.isdigit() else "?"
                why = f"`{command}` failed (status {rc}) near line {near}"
            results.append((False, f"{why}; its output:\n" + tail(os.path.join(out, f"{key}.log"))
                            + "\n" + tail(os.path.join(out, "bash.stderr"), 5)))
        else:
            results.append((False, "not run (an earlier block of this page failed)"))
    return results


def read_markers(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [l.strip() for l in f if l.strip()]
    except OSError:
        return []


def kill(proc):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue


# --- the checks ---------------------------------------------------------------------------

def page_order(docs):
    """docs/*.md: index first, then in the order the index links them, then the rest by name."""
    names = sorted(f[:-3] for f in os.listdir(docs) if f.endswith(".md"))
    order = ["index"] if "index" in names else []
    with open(os.path.join(docs, "index.md"), encoding="utf-8") as f:
        for target in links(f.read()):
            stem = target.split("#")[0].rstrip("/").split("/")[-1]
            stem = stem[:-3] if stem.endswith(".md") else stem
            if stem in names and stem not in order:
                order.append(stem)
    return order + [n for n in names if n not in order]


def examples(docs, base, block_timeout, work):
    """Runs every page's examples; returns (passed, failed)."""
    with open(os.path.join(docs, "index.md"), encoding="utf-8") as f:
        setups = [body for info, body, _ in code_blocks(f.read()) if info and info[0] in SHELL_TAGS and "setup" in info[1:]]
    if len(setups) != 1:
        print(f"FAIL docs/index.md must have exactly one block tagged `sh setup`, found {len(setups)}")
        return 0, 1
    setup = setups[0]
    passed = failed = 0
    for name in page_order(docs):
        with open(os.path.join(docs, name + ".md"), encoding="utf-8") as f:
            text = f.read()
        blocks = []
        for info, body, line in code_blocks(text):
            script = runnable(info, body)
            if script is not None:
                blocks.append((line, script))
        if not blocks:
            continue
        t0 = time.monotonic()
        results = run_page(name, setup, blocks, base, block_timeout, work)
        print(f"--- docs/{name}.md: {len(blocks)} example(s), {time.monotonic() - t0:.1f}s")
        for (line, script), (ok, detail) in zip(blocks, results):
            problems = unchecked_curls(script)
            first = next((l.strip() for l in script.split("\n") if l.strip() and not l.strip().startswith("#")), "")
            where = f"docs/{name}.md:{line}"
            if ok and not problems:
                passed += 1
                print(f"ok   {where}  {first[:90]}")
                if detail:
                    print(detail)
            else:
                failed += 1
                print(f"FAIL {where}  {first[:90]}")
                for p in problems:
                    print(f"        unchecked: {p}")
                if detail:
                    print(f"        {detail}")
    return passed, failed


RELATIONS_CONST = re.compile(r"pub\s+const\s+RELATIONS\s*:[^=]*=\s*&\[(.*?)\n\];", re.S)
RELATION_ENTRY = re.compile(r"\(\s*\"([^\"]+)\"\s*,")


def code_relations():
    with open(os.path.join(ROOT, "src", "hypermedia", "relations.rs"), encoding="utf-8") as f:
        m = RELATIONS_CONST.search(f.read())
    return RELATION_ENTRY.findall(m.group(1)) if m else []


def doc_relations(docs):
    """First-column code spans of the tables in docs/relations.md whose first header is `rel`."""
    rels, in_table = [], False
    with open(os.path.join(docs, "relations.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
            if cells is None:
                in_table = False
            elif not in_table:
                in_table = cells[0].lower() == "rel"
            elif not re.fullmatch(r":?-+:?", cells[0]):
                m = re.fullmatch(r"`([^`]+)`", cells[0])
                if m:
                    rels.append(m.group(1))
    return rels


def relations(docs, http, base):
    """Returns the number of failed checks."""
    failures = 0
    code = code_relations()
    try:
        doc = doc_relations(docs)
    except OSError as e:
        print(f"FAIL relations: {e}")
        return 1
    if not code:
        print("FAIL relations: no RELATIONS entries found in src/hypermedia/relations.rs")
        return 1
    for what, names in (("src/hypermedia/relations.rs", code), ("docs/relations.md", doc)):
        dups = sorted({r for r in names if names.count(r) > 1})
        if dups:
            print(f"FAIL relations: listed twice in {what}: {', '.join(dups)}")
            failures += 1
    missing, extra = sorted(set(code) - set(doc)), sorted(set(doc) - set(code))
    if missing or extra:
        failures += 1
        print("FAIL relations: docs/relations.md and RELATIONS differ:"
              + (f" not documented: {', '.join(missing)};" if missing else "")
              + (f" not in RELATIONS: {', '.join(extra)}" if extra else ""))
    else:
        print(f"ok   relations: the {len(code)} rels of RELATIONS are the rels of docs/relations.md")
    try:
        root = http.get(base + "/", timeout=HTTP_TIMEOUT)
        desc = root.links.get("service-desc", {}).get("url")
        served = http.get(urljoin(base + "/", desc), timeout=HTTP_TIMEOUT).json().get("x-relations", {}) if desc else None
    except (requests.RequestException, ValueError) as e:
        served = None
        print(f"FAIL relations: could not read the OpenAPI document: {e}")
    if served is None:
        failures += 1
        print("FAIL relations: no service-desc link on the root, or no x-relations in its document")
    elif set(served) != set(doc):
        failures += 1
        print("FAIL relations: the served x-relations and docs/relations.md differ: "
              f"only served: {sorted(set(served) - set(doc))}; only documented: {sorted(set(doc) - set(served))}")
    else:
        print(f"ok   relations: the served document's x-relations lists the same {len(served)} rels")
    return failures


def served_url(rel_path):
    """Where the server serves docs/<rel_path>.md."""
    return "/docs" if rel_path == "index" else "/docs/" + rel_path


def doc_links(docs, http, base):
    """Returns (links checked, failed checks)."""
    # the pages the server serves: docs/*.md and docs/errors/<code>.md (docs/errors/index.md
    # is for browsing the repository; /docs/errors is docs/errors.md)
    pages = [f[:-3] for f in os.listdir(docs) if f.endswith(".md")]
    errors = os.path.join(docs, "errors")
    if os.path.isdir(errors):
        pages += ["errors/" + f[:-3] for f in os.listdir(errors) if re.fullmatch(r"\d+\.md", f)]
    targets, failures = {}, 0
    for page in sorted(pages):
        url = base + served_url(page)
        try:
            r = http.get(url, headers={"Accept": "text/html"}, timeout=HTTP_TIMEOUT)
        except requests.RequestException as e:
            print(f"FAIL docs/{page}.md is not served at {served_url(page)}: {e}")
            failures += 1
            continue
        if r.status_code != 200:
            print(f"FAIL docs/{page}.md is not served at {served_url(page)}: {r.status_code}")
            failures += 1
            continue
        hrefs = {html.unescape(h) for h in re.findall(r'href="([^"]*)"', r.text)}
        with open(os.path.join(docs, page + ".md"), encoding="utf-8") as f:
            for target in links(f.read()):
                if urlsplit(target).scheme or target.startswith("//") or target.startswith("#"):
                    continue  # another site, or a place on this page
                # src/docs.rs drops the `.md` of a page link and keeps its #fragment
                path, _, fragment = target.partition("#")
                href = (path[:-3] if path.endswith(".md") else path) + ("#" + fragment if fragment else "")
                if href not in hrefs:
                    print(f"FAIL docs/{page}.md: link {target} is not rendered as href=\"{href}\"")
                    failures += 1
                resolved, _, fragment = urljoin(url, href).partition("#")
                targets.setdefault(resolved, []).append((f"docs/{page}.md ({target})", fragment))
    for url, links_here in sorted(targets.items()):
        where = [w for w, _ in links_here]
        try:
            r = http.get(url, headers={"Accept": "text/html"}, timeout=HTTP_TIMEOUT)
            status, body = r.status_code, r.text
        except requests.RequestException as e:
            status, body = str(e), ""
        if status != 200:
            failures += 1
            print(f"FAIL link {url[len(base):]} answers {status}; linked from {', '.join(where[:5])}"
                  + (f" and {len(where) - 5} more" if len(where) > 5 else ""))
            continue
        for w, fragment in links_here:
            if fragment and f'id="{fragment}"' not in body:
                failures += 1
                print(f"FAIL link {w}: {url[len(base):]} has no element with id=\"{fragment}\"")
    n = sum(len(w) for w in targets.values())
    if not failures:
        print(f"ok   links: {len(pages)} pages served; {n} links to {len(targets)} URLs, all 200")
    return n, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base", help="the server, e.g. http://127.0.0.1:8080")
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("DOCS_EXAMPLES_TIMEOUT", "60")),
                    help="seconds each block (and the setup) may take (default 60)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every block's output")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose

    def stop(signum, _frame):
        for proc in RUNNING:
            kill(proc)
        print(f"docs-examples: stopped by signal {signum}")
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    base = args.base.rstrip("/")
    http = requests.Session()
    http.trust_env = False

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="docs-examples.") as work:
        passed, failed = examples(args.docs, base, args.timeout, work)
    blocks = passed + failed
    failed += relations(args.docs, http, base)
    _, link_failures = doc_links(args.docs, http, base)
    failed += link_failures
    print(f"     {blocks} example blocks in {time.monotonic() - t0:.1f}s")
    print(f"docs-examples: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
