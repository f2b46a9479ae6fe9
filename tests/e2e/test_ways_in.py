"""Every way in, every format, end to end on the real services.

One real worker runs in isolated topics. Log lines of each supported format arrive
through the HTTP gateway, the syslog listener (fed by util-linux ``logger``, a real
client) and ``logwarden ship``; the test finds their canonical events in Elasticsearch
and the malformed ones in the dead-letter topic, each with its reason.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.runner import stop_process
from tests.e2e.conftest import Worker, free_port, read_topic, search
from tests.e2e.test_http_gateway import post

pytestmark = pytest.mark.e2e


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "syslog listener exited early"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def _logger(*args: str) -> None:
    subprocess.run(["logger", *args], check=True, timeout=10)


def _hits(es_url: str, prefix: str, marker: str, want: int, timeout: float
          ) -> list[dict[str, Any]]:
    deadline, hits = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        hits = search(es_url, prefix, {"query_string": {"query": f"*{marker}*",
                                                         "default_field": "message"}})
        if len(hits) >= want:
            break
        time.sleep(1)
    return hits


def test_every_format_through_every_way_in(isolated: dict[str, str], ingest_token: str,
                                           tmp_path: Path) -> None:
    env = isolated
    m = uuid.uuid4().hex[:12]
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    udp, tcp = free_port(), free_port()
    syslog = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "syslog", "--udp-port", str(udp), "--tcp-port",
         str(tcp)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        _wait_port(tcp, syslog)
        api = f"{worker.web}/api/v1/logs"

        # --- HTTP gateway: text formats declared per request, a traceback in a JSON array
        for fmt, body in {
            "apache_error": f"[Fri Sep 09 10:42:29.902022 2026] [core:error] [pid 35708:tid 1] "
                            f"[client 72.15.99.187:51234] AH00128: File does not exist: /{m}\n",
            "nginx_error": f'2026/11/22 04:00:00 [error] 1234#5678: *42 connect() failed {m}, '
                           f'client: 10.0.0.1, server: ex.test, request: "GET /api HTTP/1.1"\n',
            "logfmt": f'at=error method=GET path=/x status=503 service=12ms msg="logfmt {m}"\n'
                      f"no equals sign here {m}\n",
        }.items():
            status, answer = post(f"{api}?format={fmt}&service=gw", body.encode(), "text/plain",
                                  ingest_token)
            assert status == 202, answer
        traceback = (f"2026-11-22 04:00:00,123 - billing.jobs - ERROR - run failed {m}\n"
                     "Traceback (most recent call last):\n"
                     '  File "/app/jobs.py", line 88, in run\n'
                     "ZeroDivisionError: division by zero")
        status, answer = post(f"{api}?format=python&service=billing",
                              json.dumps([traceback]).encode(), "application/json", ingest_token)
        assert (status, answer["dead_lettered"]) == (202, [])

        # --- syslog listener, fed by logger over UDP and TCP, both RFCs, both framings
        _logger("--server", "127.0.0.1", "--port", str(udp), "--udp", "--rfc3164",
                "-t", "sshd", f"Failed password for invalid user admin from 203.0.113.66 "
                              f"port 5555 ssh2 {m}")
        _logger("--server", "127.0.0.1", "--port", str(tcp), "--tcp", "--rfc5424",
                "--octet-count", "-t", "app", "--sd-id", "meta@32473", "--sd-param",
                'env="prod"', f"rfc5424 over tcp {m}")
        with socket.create_connection(("127.0.0.1", tcp)) as sock:  # a broken frame
            sock.sendall(f"<999>Nov 22 04:00:00 host app: bad pri {m}\n".encode())

        # --- ship: an access log (auto-detected) and a Python log with a traceback
        access = tmp_path / "access.log"
        access.write_bytes(
            f'198.51.100.7 - - [22/Nov/2026:04:00:00 +0000] "GET /ship/{m} HTTP/1.1" 200 12 '
            f'"-" "curl/8.4.0" 0.012\n'.encode() + b"\xff\xfe not utf-8\n")
        pylog = tmp_path / "app.log"
        pylog.write_text(f"2026-11-22 04:00:01,000 - app.db - WARNING - slow {m}\n"
                         + traceback.replace("run failed", "ship failed") + "\n")
        state = tmp_path / "ship-state.json"
        for args in ([str(access)], [str(pylog), "--format", "python", "--multiline",
                                     "python", "--service", "billing"]):
            done = subprocess.run([sys.executable, "-m", "app.cli", "ship", *args, "--state",
                                   str(state), "--no-progress"], env=env, capture_output=True,
                                  text=True, timeout=60, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
        # a second run resumes: nothing is sent twice
        again = subprocess.run([sys.executable, "-m", "app.cli", "ship", str(access), "--state",
                                str(state), "--no-progress"], env=env, capture_output=True,
                               text=True, timeout=60, check=False)
        assert " 0 lines" in again.stdout, again.stdout

        expected = {"apache_error", "nginx_error", "logfmt", "python", "syslog3164",
                    "syslog5424", "http_access"}
        hits = _hits(env["LOGWARDEN_ELASTICSEARCH__URL"],
                     env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"], m, 9, 90)
        parsers = {h["parse"]["parser"] for h in hits}
        assert expected <= parsers, f"{sorted(parsers)}\n{worker.tail()}"
        by_parser: dict[str, list[dict[str, Any]]] = {}
        for hit in hits:
            by_parser.setdefault(hit["parse"]["parser"], []).append(hit)
        sources = {h["source"]["type"] for h in hits}
        assert sources == {"http", "syslog", "file"}, sources
        sshd = by_parser["syslog3164"][0]
        assert sshd["attrs"]["source_ip"] == "203.0.113.66"
        assert sshd["attrs"]["auth_result"] == "invalid_user"
        assert by_parser["syslog5424"][0]["attrs"]["sd"]["meta@32473"]["env"] == "prod"
        tracebacks = [h for h in by_parser["python"] if "exception" in h.get("attrs", {})]
        assert len(tracebacks) == 2  # one via the gateway, one folded by ship
        assert all(h["attrs"]["exception"]["type"] == "ZeroDivisionError" for h in tracebacks)
        web = by_parser["http_access"][0]
        assert web["http"]["duration_ms"] == 12.0
        assert web["http"]["route"] == "/ship/{hash}"  # the hex marker is templated

        letters = asyncio.run(read_topic(env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"],
                                         env["LOGWARDEN_TOPICS__DLQ"], 3, 30))
        reasons = sorted((d["stage"], d["reason"]) for d in letters)
        assert reasons == [("decode", "undecodable"), ("parse", "bad_field"),
                           ("parse", "format_mismatch")], letters
    finally:
        stop_process(syslog)
        worker.stop()
