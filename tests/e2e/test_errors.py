"""Upstream failure handling of lucent.

Covers: unknown host -> 502 naming the host ("cannot resolve HOST"), refused
port -> 502 mentioning "refused", origin that never answers with
--upstream-timeout 0.5 -> 504, upstream connect that never completes with
--connect-timeout 0.5 -> 504, malformed origin response -> 502, origin
closing without a response -> 502, a request for lucent's own address ->
508 (no loop), origin dying mid-body, an error reply
closes the client connection; every failure is recorded in the flow log
with the right status and a non-null "error", and logged on stdout; lucent
keeps serving afterwards.

Run: python3 tests/e2e/test_errors.py --lucent build/lucent
"""

import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402


def setup():
    ctx = H.Ctx()
    ctx.nginx = H.Nginx()
    ctx.lucent = H.Lucent(["--upstream-timeout", "0.5", "--connect-timeout", "0.5"])
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


def _error_flow(lu, url, status, method="GET"):
    f = lu.wait_flow(lambda f: f.get("url") == url and f.get("method") == method, 10)
    check(f, "no flow record for %s; flow log:\n%s" % (url, lu.flow_text()[-3000:]))
    eq(f.get("status"), status, "flow status")
    check(isinstance(f.get("error"), str) and f["error"], "flow error must be a non-empty string: %r" % f.get("error"))
    return f


def _raw_error(lu, url_host, path, status):
    c = H.RawClient(lu.port, timeout=15)
    try:
        m = c.request(H.get_request(url_host, path))
        eq(m.status, status, "status for %s%s" % (url_host, path))
        check(m.body.startswith(b"lucent: "), "body should start with 'lucent: ': %r" % m.body[:300])
        check((m.get("Content-Type") or "").startswith("text/plain"), "Content-Type %r" % m.get("Content-Type"))
        check(c.at_eof(5), "connection not closed after an error response")
        return m
    finally:
        c.close()


def test_unknown_host_502(ctx):
    t0 = time.monotonic()
    r = H.curl(ctx.lucent, "-o", "-", "-w", "\n%{http_code}", "http://nope.test/x")
    eq(r.rc, 0, r.err)
    body, code = r.text.rsplit("\n", 1)
    eq(code, "502")
    check(body.startswith("lucent: "), "body %r" % body)
    contains(body, "cannot resolve nope.test")
    check(time.monotonic() - t0 < 15, "NXDOMAIN should fail fast")
    f = _error_flow(ctx.lucent, "http://nope.test/x", 502)
    contains(f["error"], "nope.test")
    eq(f["server"], None, "server of an unresolvable host")
    line = ctx.lucent.wait_stdout(r"GET http://nope\.test/x \u2192 502 ", 5)
    check(line and "cannot resolve nope.test" in line, "stdout log line: %r\n%s" % (line, ctx.lucent.stdout()[-1500:]))


def test_unknown_host_raw(ctx):
    m = _raw_error(ctx.lucent, "unknown-host.test:8080", "/y", 502)
    contains(m.body.decode(), "cannot resolve unknown-host.test")
    _error_flow(ctx.lucent, "http://unknown-host.test:8080/y", 502)


def test_dns_is_asynchronous():
    # While lucent waits for a DNS answer (held back by the test DNS server),
    # another client on the same single worker is served.  A resolver that
    # blocks the event loop would serve the second client only after the
    # first lookup finished.
    n = H.Nginx()
    lu = H.Lucent(["--workers", "1"])
    H.DNS.hold("slow.test")
    try:
        a = H.RawClient(lu.port, timeout=20)
        try:
            a.send(H.get_request("slow.test", "/x"))
            check(H.wait_until(lambda: "slow.test" in H.DNS.names, 10), "lucent never queried DNS for slow.test")
            m = H.raw_request(lu.port, H.get_request("a.test:%d" % n.port, "/hello.txt"), timeout=20)
            eq(m.body, H.HELLO_TXT)
            check("slow.test" not in H.DNS.answered, "the held DNS answer was released early")
            a.sock.settimeout(0.2)
            try:
                early = a.sock.recv(100)
            except OSError:
                early = None
            check(early is None, "first client answered before its DNS lookup finished: %r" % early)
            a.sock.settimeout(20)
            H.DNS.release("slow.test")
            r = a.response()
            eq(r.status, 502)
            contains(r.body.decode(), "cannot resolve slow.test")
        finally:
            a.close()
    finally:
        H.DNS.release("slow.test")
        lu.stop()
        n.stop()


def test_refused_502(ctx):
    port = H.free_port()
    m = _raw_error(ctx.lucent, "a.test:%d" % port, "/r", 502)
    body = m.body.decode()
    check(re.search(r"refused", body, re.I), "502 body should mention refused: %r" % body)
    contains(body, "a.test:%d" % port)
    f = _error_flow(ctx.lucent, "http://a.test:%d/r" % port, 502)
    check(re.search(r"refused", f["error"], re.I), "flow error: %r" % f["error"])


def test_refused_curl(ctx):
    port = H.free_port()
    r = H.curl(ctx.lucent, "-o", "-", "-w", "\n%{http_code}", "http://a.test:%d/" % port)
    eq(r.rc, 0, r.err)
    body, code = r.text.rsplit("\n", 1)
    eq(code, "502")
    contains(body, "Connection refused")


def test_upstream_silent_504(ctx):
    o = H.Origin(H.handler_silent(hold=20))
    try:
        t0 = time.monotonic()
        m = _raw_error(ctx.lucent, o.authority(), "/silent", 504)
        check(time.monotonic() - t0 < 12, "504 should come after ~0.5 s (--upstream-timeout 0.5)")
        check(o.wait_requests(1), "origin never got the request")
        f = _error_flow(ctx.lucent, o.url("/silent"), 504)
        del m, f
    finally:
        o.stop()


def test_upstream_silent_after_partial_head(ctx):
    # the origin sends part of a status line, then goes silent: lucent must not hang forever
    def h(c):
        c.read_request()
        c.send(b"HTTP/1.1 200 O")
        time.sleep(30)
    o = H.Origin(h)
    try:
        c = H.RawClient(ctx.lucent.port, timeout=15)
        try:
            c.send(H.get_request(o.authority(), "/partial"))
            try:
                data = c.reader.read_to_eof()
            except socket.timeout:
                raise AssertionError("lucent hung on an origin that stalls mid-head")
            check(re.match(rb"HTTP/1\.[01] 50[24] ", data) or data == b"",
                  "expected 502/504 or a closed connection, got %r" % data[:200])
        finally:
            c.close()
        f = ctx.lucent.wait_flow(lambda f: f.get("url") == o.url("/partial"), 10)
        check(f and f.get("error"), "flow with error: %r" % f)
    finally:
        o.stop()


def test_connect_timeout_504(ctx):
    # a listener with a full accept queue never completes new handshakes
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    try:
        for _ in range(2):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
        time.sleep(0.2)
        t0 = time.monotonic()
        m = _raw_error(ctx.lucent, "a.test:%d" % port, "/ct", 504)
        check(time.monotonic() - t0 < 12, "504 should come after ~0.5 s (--connect-timeout 0.5)")
        _error_flow(ctx.lucent, "http://a.test:%d/ct" % port, 504)
        del m
    finally:
        for s in fillers:
            s.close()
        ls.close()


def test_malformed_response_502(ctx):
    o = H.Origin(H.handler_raw(b"THIS IS NOT HTTP\r\nfoo bar\r\n\r\n"))
    try:
        _raw_error(ctx.lucent, o.authority(), "/malformed", 502)
        _error_flow(ctx.lucent, o.url("/malformed"), 502)
    finally:
        o.stop()


def test_malformed_response_bad_header_502(ctx):
    o = H.Origin(H.handler_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\nhello"))
    try:
        _raw_error(ctx.lucent, o.authority(), "/badcl", 502)
        _error_flow(ctx.lucent, o.url("/badcl"), 502)
    finally:
        o.stop()


def test_close_without_response_502(ctx):
    o = H.Origin(H.handler_close_without_response())
    try:
        _raw_error(ctx.lucent, o.authority(), "/closed", 502)
        _error_flow(ctx.lucent, o.url("/closed"), 502)
    finally:
        o.stop()


def test_close_without_response_curl(ctx):
    o = H.Origin(H.handler_close_without_response())
    try:
        r = H.curl(ctx.lucent, "-o", "-", "-w", "\n%{http_code}", o.url("/closed-curl"))
        eq(r.rc, 0, r.err)
        body, code = r.text.rsplit("\n", 1)
        eq(code, "502")
        check(body.startswith("lucent: "), "body %r" % body)
    finally:
        o.stop()


def test_origin_dies_mid_body(ctx):
    # Content-Length promises more than the origin sends: the client must not
    # receive a silently truncated "complete" response.
    o = H.Origin(H.handler_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000))
    try:
        c = H.RawClient(ctx.lucent.port, timeout=15)
        try:
            c.send(H.get_request(o.authority(), "/truncated"))
            m = None
            try:
                m = c.response()
            except EOFError:
                pass      # connection closed before the promised length: correct
            if m is not None:
                check(m.status != 200 or len(m.body) == 100000, "truncated body delivered as complete")
        finally:
            c.close()
        f = ctx.lucent.wait_flow(lambda f: f.get("url") == o.url("/truncated"), 10)
        check(f, "no flow record")
        check(f.get("error"), "truncated upstream body must be recorded as an error: %r" % f)
    finally:
        o.stop()


def test_upstream_stalls_mid_body(ctx):
    # head + part of the body, then silence past --upstream-timeout: lucent
    # cannot send a 504 any more, but must abort (close) instead of hanging
    def h(c):
        c.read_request()
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        time.sleep(30)
    o = H.Origin(h)
    try:
        c = H.RawClient(ctx.lucent.port, timeout=15)
        try:
            c.send(H.get_request(o.authority(), "/stall"))
            try:
                data = c.reader.read_to_eof()
            except socket.timeout:
                raise AssertionError("lucent kept the client waiting on a stalled upstream body")
            check(len(data) < 100000 + 200, "got %d bytes" % len(data))
        finally:
            c.close()
        f = ctx.lucent.wait_flow(lambda f: f.get("url") == o.url("/stall"), 10)
        check(f and f.get("error"), "stalled body must be recorded with an error: %r" % f)
    finally:
        o.stop()


def test_expect_continue_unknown_host_502(ctx):
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send("PUT http://nope3.test/x HTTP/1.1\r\nHost: nope3.test\r\nContent-Length: 3\r\n"
               "Expect: 100-continue\r\n\r\n")
        m = c.response()
        eq(m.interim, [], "no 100 Continue before the upstream is up")
        eq(m.status, 502)
    finally:
        c.close()


def test_keepalive_survives_upstream_error_on_other_connection(ctx):
    # an error on one client connection does not affect others
    c = H.RawClient(ctx.lucent.port)
    try:
        a = "a.test:%d" % ctx.nginx.port
        eq(c.request(H.get_request(a, "/hello.txt")).status, 200)
        H.raw_request(ctx.lucent.port, H.get_request("nope2.test", "/"))
        eq(c.request(H.get_request(a, "/hello.txt")).body, H.HELLO_TXT)
    finally:
        c.close()


def test_request_to_lucent_itself_508(ctx):
    # a request for lucent's own address would connect to itself again and
    # again until file descriptors ran out; it is refused at once instead
    for host in ("127.0.0.1", "a.test"):
        auth = "%s:%d" % (host, ctx.lucent.port)
        m = _raw_error(ctx.lucent, auth, "/loop", 508)
        contains(m.body.decode("latin-1"), "lucent itself")
        _error_flow(ctx.lucent, "http://%s/loop" % auth, 508)
    # the same port on another loopback address is somebody else
    c = H.RawClient(ctx.lucent.port, timeout=15)
    try:
        m = c.request(H.get_request("127.0.0.2:%d" % ctx.lucent.port, "/other"))
        eq(m.status, 502, "127.0.0.2 is not lucent (nothing listens there)")
    finally:
        c.close()


def test_still_serving(ctx):
    check(ctx.lucent.alive(), "lucent died")
    r = H.curl(ctx.lucent, "-o", "-", ctx.nginx.url("/hello.txt"))
    eq(r.rc, 0, r.err)
    eq(r.out, H.HELLO_TXT)


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)
