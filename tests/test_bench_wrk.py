"""The ``wrk --latency`` parser of the benchmarks (no durations asserted)."""

from __future__ import annotations

import pytest
from bench.wrk import parse

OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/recommendations/u0
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   478.12us  121.03us   2.10ms   81.22%
    Req/Sec    33.51k     1.20k   35.00k    70.00%
  Latency Distribution
     50%  450.00us
     75%  512.00us
     90%  640.00us
     99%    1.02ms
  335000 requests in 10.00s, 5.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  33500.12
Transfer/sec:    512.00KB
"""


def test_parse_reads_rate_percentiles_in_ms_and_errors() -> None:
    f = parse(OUTPUT)
    assert f["requests_per_s"] == 33500.12
    assert f["p50_ms"] == 0.45
    assert f["p75_ms"] == 0.512
    assert f["p90_ms"] == 0.64
    assert f["p99_ms"] == 1.02
    assert f["requests"] == 335000
    assert f["duration_s"] == 10.0
    assert f["non_2xx"] == 7
    assert f["socket_errors"] == {"connect": 0, "read": 2, "write": 0, "timeout": 1}


def test_parse_seconds_and_a_clean_run() -> None:
    text = OUTPUT.replace("1.02ms", "1.50s").replace(
        "  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 7\n",
        "",
    )
    f = parse(text)
    assert f["p99_ms"] == 1500.0
    assert f["non_2xx"] == 0
    assert sum(f["socket_errors"].values()) == 0


def test_parse_without_a_rate_is_an_error() -> None:
    with pytest.raises(ValueError):
        parse("unable to connect to 127.0.0.1:1 Connection refused\n")
