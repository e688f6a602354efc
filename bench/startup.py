#!/usr/bin/env python3
"""Start-up time of signpost on a database: from process start to the first answered `GET /`.

usage: startup.py BINARY DATABASE [RUNS]

Prints one line: `STARTUP <median ms to first answer> <median ms the server reports> <runs>`.
Each run starts the binary on 127.0.0.1:0, reads the port from its start-up log line, polls
`GET /` every millisecond until it answers 200, then stops the server with SIGTERM.
"""
import http.client
import re
import signal
import statistics
import subprocess
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LINE = re.compile(r"listening on https?://[0-9.]+:(\d+) .*\(started in (\d+) ms\)")


def once(binary, database):
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "--database", database, "--bind", "127.0.0.1:0", "--log", "info"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        port = reported = None
        deadline = t0 + 30
        for line in proc.stdout:
            m = LINE.search(ANSI.sub("", line))
            if m:
                port, reported = int(m.group(1)), int(m.group(2))
                break
            if time.perf_counter() > deadline:
                break
        if port is None:
            raise SystemExit("signpost did not print its listening line")
        while time.perf_counter() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/")
                if c.getresponse().status == 200:
                    return (time.perf_counter() - t0) * 1000, reported
            except OSError:
                pass
            time.sleep(0.001)
        raise SystemExit("signpost did not answer GET / in 30 s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    binary, database = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    results = [once(binary, database) for _ in range(runs)]
    print(
        "STARTUP %.0f %.0f %d"
        % (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results), runs)
    )


if __name__ == "__main__":
    main()
