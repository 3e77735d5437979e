"""HTTP/1.1 framing and robustness of lucent, driven over raw sockets.

Covers: pipelining (3 requests in one send, responses in order), Expect:
100-continue (lucent sends 100 Continue itself; origin sees no Expect and the
full body), chunked request body + trailers re-chunked to the origin,
chunked response + trailers to the client, close-delimited origin responses
(chunked to an HTTP/1.1 client, close-delimited to an HTTP/1.0 client), 1xx
interim responses before the final one, hop-by-hop header removal in both
directions and Host rewriting, malformed requests -> 400 with a "lucent:"
line (garbage request line, bad header token, invalid Content-Length,
CL+TE conflict, origin-form request), 431 for --max-header-size and
--max-headers, 408 with --header-timeout (silent and dribbling clients),
silent idle close with --idle-timeout, and lucent still serving afterwards.

Run: python3 tests/e2e/test_rawsocket.py --lucent build/lucent
"""

import os
import re
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402

HOP = ["connection", "x-foo", "proxy-connection", "keep-alive", "te", "trailer", "proxy-authorization"]


def setup():
    ctx = H.Ctx()
    ctx.nginx = H.Nginx()
    ctx.lucent = H.Lucent()
    ctx.auth = "a.test:%d" % ctx.nginx.port
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


# --------------------------------------------------------------------------

def test_pipelining(ctx):
    a = ctx.auth
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send(H.get_request(a, "/hello.txt") + H.get_request(a, "/1k.bin") + H.get_request(a, "/nope-pipelined"))
        m1, m2, m3 = c.response(), c.response(), c.response()
        eq((m1.status, m2.status, m3.status), (200, 200, 404))
        eq(m1.body, H.HELLO_TXT)
        eq(m2.body, ctx.nginx.files["1k.bin"])
        # connection still usable
        m4 = c.request(H.get_request(a, "/hello.txt"))
        eq(m4.body, H.HELLO_TXT)
    finally:
        c.close()


def test_pipelining_python_origin_order():
    o = H.Origin(H.handler_fixed(body=lambda req: req.target.encode()))
    lu = H.Lucent()
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            paths = ["/p1", "/p2?x=2", "/p3"]
            c.send("".join(H.get_request(a, p) for p in paths))
            bodies = [c.response().body for _ in paths]
            eq(bodies, [p.encode() for p in paths])
        finally:
            c.close()
        eq([r.target for r in o.requests], paths)
    finally:
        lu.stop()
        o.stop()


def test_expect_100_continue():
    o = H.Origin(H.handler_fixed(body=lambda req: b"got %d" % len(req.body)))
    lu = H.Lucent()
    try:
        a = o.authority()
        body = os.urandom(30000)
        c = H.RawClient(lu.port, timeout=5)
        try:
            c.send("POST http://%s/upload HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                   % (a, a, len(body)))
            # the client waits for 100 Continue before sending the body
            head = c.reader.read_until(b"\r\n\r\n")
            check(re.match(rb"HTTP/1\.1 100 Continue\r\n", head), "expected 100 Continue, got %r" % head)
            c.send(body)
            m = c.response()
            eq(m.status, 200)
            eq(m.body, b"got %d" % len(body))
        finally:
            c.close()
        check(o.wait_requests(1), "origin got no request")
        req = o.requests[0]
        check(not req.has("Expect"), "Expect header forwarded: %r" % req.headers)
        eq(req.body, body)
        eq(req.get("Content-Length"), str(len(body)))
    finally:
        lu.stop()
        o.stop()


def test_chunked_request_with_trailers():
    o = H.Origin(H.handler_fixed(body=b"ok"))
    lu = H.Lucent()
    try:
        a = o.authority()
        chunks = [b"hello", b" ", os.urandom(20000), b"end"]
        req = ("POST http://%s/chunked HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n"
               "Trailer: X-Req-Checksum\r\n\r\n" % (a, a)).encode()
        for ch in chunks:
            req += b"%x;ext=1\r\n%s\r\n" % (len(ch), ch)
        req += b"0\r\nX-Req-Checksum: abc\r\n\r\n"
        c = H.RawClient(lu.port)
        try:
            m = c.request(req)
            eq(m.status, 200)
            eq(m.body, b"ok")
        finally:
            c.close()
        check(o.wait_requests(1), "origin got no request")
        r = o.requests[0]
        eq(r.start_line, "POST /chunked HTTP/1.1")
        eq(r.get_all("Transfer-Encoding"), ["chunked"], "re-chunked to origin")
        check(not r.has("Content-Length"), "Content-Length together with chunked: %r" % r.headers)
        eq(r.body, b"".join(chunks))
        eq(r.trailers, [("X-Req-Checksum", "abc")], "request trailers forwarded")
    finally:
        lu.stop()
        o.stop()


def test_chunked_response_with_trailers():
    chunks = [b"first ", os.urandom(50000), b" last\n"]
    o = H.Origin(H.handler_chunked(chunks=chunks, trailers=[("X-Checksum", "c0ffee")]))
    lu = H.Lucent()
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(a, "/ch", "TE: trailers\r\n"))
            eq(m.status, 200)
            check(m.chunked, "response to HTTP/1.1 client should stay chunked: %r" % m.headers)
            eq(m.body, b"".join(chunks))
            eq(m.trailers, [("X-Checksum", "c0ffee")], "response trailers")
            # keep-alive still works after the chunked body
            m2 = c.request(H.get_request(a, "/ch2", "TE: trailers\r\n"))
            eq(m2.body, b"".join(chunks))
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_close_delimited_to_http11_client_is_chunked():
    body = os.urandom(100000)
    o = H.Origin(H.handler_close_delimited(body=body))
    lu = H.Lucent()
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(a, "/cd"), allow_close_delimited=False)
            eq(m.status, 200)
            check(m.chunked, "close-delimited body must be chunked to an HTTP/1.1 client: %r" % m.headers)
            eq(len(m.body), len(body))
            eq(m.body, body)
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_close_delimited_to_http10_client():
    body = os.urandom(100000)
    o = H.Origin(H.handler_close_delimited(body=body))
    lu = H.Lucent()
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(a, "/cd10", version="HTTP/1.0"))
            eq(m.status, 200)
            check(not m.chunked, "chunked sent to an HTTP/1.0 client: %r" % m.headers)
            check(m.get("Content-Length") is None or m.get("Content-Length") == str(len(body)),
                  "bogus Content-Length %r" % m.get("Content-Length"))
            eq(m.body, body)
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_close_delimited_http10_origin():
    body = b"origin speaks 1.0\n" * 500
    o = H.Origin(H.handler_close_delimited(body=body, version="HTTP/1.0"))
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(o.authority(), "/o10"))
            eq(m.status, 200)
            eq(m.body, body)
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_interim_1xx_then_final():
    o = H.Origin(H.handler_interim())
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(o.authority(), "/early"))
            eq(m.status, 200)
            eq(m.body, b"after-interim\n")
            for i in m.interim:
                check(100 <= i.status < 200, "interim status %r" % i.status)
            m2 = c.request(H.get_request(o.authority(), "/early2"))
            eq(m2.status, 200)
            eq(m2.body, b"after-interim\n")
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_hop_by_hop_removed_and_host_rewritten():
    resp_headers = [("Content-Type", "text/plain"), ("Connection", "X-Resp-Hop"), ("X-Resp-Hop", "1"),
                    ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"), ("X-Resp-Keep", "yes")]
    o = H.Origin(H.handler_fixed(headers=resp_headers, body=b"hop"))
    lu = H.Lucent()
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            req = ("GET http://%s/hop?q=1 HTTP/1.1\r\n"
                   "Host: wrong.example:9999\r\n"
                   "Connection: close, X-Foo\r\n"
                   "X-Foo: bar\r\n"
                   "Proxy-Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "TE: trailers\r\n"
                   "Trailer: X-Bar\r\n"
                   "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                   "X-Keep: yes\r\n"
                   "\r\n") % a
            m = c.request(req)
            eq(m.status, 200)
            eq(m.body, b"hop")
            for h in ("X-Resp-Hop", "Keep-Alive", "Proxy-Connection"):
                check(not m.has(h), "hop-by-hop response header %s reached the client: %r" % (h, m.headers))
            eq(m.get("X-Resp-Keep"), "yes")
            check(c.at_eof(5), "client sent Connection: close but lucent kept the connection open")
        finally:
            c.close()
        check(o.wait_requests(1), "origin got no request")
        r = o.requests[0]
        eq(r.start_line, "GET /hop?q=1 HTTP/1.1", "origin-form request line")
        for h in HOP:
            if h == "connection":
                # lucent may send its own Connection header, but never the client's tokens
                for v in r.get_all("Connection"):
                    check("x-foo" not in v.lower(), "client Connection tokens forwarded: %r" % v)
                continue
            check(not r.has(h), "hop-by-hop header %s reached the origin: %r" % (h, r.headers))
        eq(r.get_all("Host"), [a], "Host rewritten to the URL authority")
        eq(r.get("X-Keep"), "yes")
        check(b"Zm9vOmJhcg" not in o.conns[0].raw, "proxy credentials leaked to origin")
    finally:
        lu.stop()
        o.stop()


def test_absolute_url_host_header_missing():
    o = H.Origin(H.handler_fixed(body=b"nohost"))
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            m = c.request("GET http://%s/nh HTTP/1.1\r\nX-A: 1\r\n\r\n" % o.authority())
            # RFC 9112 says a 1.1 request without Host is a 400; forwarding with Host set is also tolerated
            check(m.status in (200, 400), "status %r" % m.status)
            if m.status == 200:
                eq(o.requests[0].get("Host"), o.authority())
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


# --------------------------------------------------------------------------
# malformed requests

def _expect_error(lu, data, status, what):
    c = H.RawClient(lu.port, timeout=10)
    try:
        c.send(data)
        m = c.response()
        eq(m.status, status, what)
        check(m.body.startswith(b"lucent: "), "%s: body should start with 'lucent: ': %r" % (what, m.body[:200]))
        eq(len(m.body.rstrip(b"\r\n").split(b"\n")), 1, "%s: one-line body %r" % (what, m.body))
        check((m.get("Content-Type") or "").startswith("text/plain"), "%s: Content-Type %r" % (what, m.get("Content-Type")))
        check(c.at_eof(5), "%s: connection not closed after the error" % what)
        return m
    finally:
        c.close()


def test_400_garbage_request_line(ctx):
    _expect_error(ctx.lucent, b"THIS IS NOT HTTP AT ALL\r\n\r\n", 400, "garbage request line")


def test_400_binary_garbage(ctx):
    _expect_error(ctx.lucent, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n", 400,
                  "binary garbage")


def test_400_bad_header_token(ctx):
    _expect_error(ctx.lucent, H.get_request(ctx.auth, "/", "Bad Header: x\r\n").encode(), 400, "space in header name")


def test_400_header_without_colon(ctx):
    _expect_error(ctx.lucent, H.get_request(ctx.auth, "/", "NoColonHere\r\n").encode(), 400, "header without colon")


def test_400_invalid_content_length(ctx):
    _expect_error(ctx.lucent, ("POST http://%s/ HTTP/1.1\r\nHost: %s\r\nContent-Length: abc\r\n\r\n"
                               % (ctx.auth, ctx.auth)).encode(), 400, "invalid Content-Length")


def test_400_content_length_and_chunked(ctx):
    _expect_error(ctx.lucent, ("POST http://%s/ HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"
                               % (ctx.auth, ctx.auth)).encode(), 400, "CL+TE conflict")


def test_400_origin_form(ctx):
    m = _expect_error(ctx.lucent, ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % ctx.auth).encode(), 400,
                      "origin-form request to the proxy")
    # nginx must not have been contacted for it
    check("GET / HTTP" not in ctx.nginx.access_log(), "origin-form request forwarded")
    del m


def test_400_duplicate_content_length(ctx):
    _expect_error(ctx.lucent, ("POST http://%s/ HTTP/1.1\r\nHost: %s\r\nContent-Length: 3\r\n"
                               "Content-Length: 5\r\n\r\n" % (ctx.auth, ctx.auth)).encode(), 400,
                  "conflicting duplicate Content-Length")


def test_400_negative_content_length(ctx):
    _expect_error(ctx.lucent, ("POST http://%s/ HTTP/1.1\r\nHost: %s\r\nContent-Length: -1\r\n\r\n"
                               % (ctx.auth, ctx.auth)).encode(), 400, "negative Content-Length")


def test_400_transfer_encoding_not_chunked_last(ctx):
    # RFC 9112 6.3: a request whose final transfer coding is not chunked is a 400
    _expect_error(ctx.lucent, ("POST http://%s/ HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                               % (ctx.auth, ctx.auth)).encode(), 400, "Transfer-Encoding: chunked, gzip")


def test_400_bad_chunk_size(ctx):
    c = H.RawClient(ctx.lucent.port)
    try:
        o_auth = ctx.auth
        c.send("POST http://%s/x HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
               % (o_auth, o_auth))
        try:
            data = c.reader.read_to_eof()
        except OSError:
            data = c.reader.buf
        # the head may already have been forwarded: either a 400 or a closed connection, never a hang
        check(data == b"" or re.match(rb"HTTP/1\.[01] (400|502) ", data), "bad chunk size: got %r" % data[:200])
    finally:
        c.close()
    check(ctx.lucent.alive(), "lucent died")


def test_400_error_logged(ctx):
    line = ctx.lucent.wait_stdout(r"\u2192 400 ", 5)
    check(line, "no log line for the 400s on stdout:\n%s" % ctx.lucent.stdout()[-2000:])


def test_431_max_header_size():
    o = H.Origin(H.handler_fixed())
    lu = H.Lucent(["--max-header-size", "4096"])
    try:
        a = o.authority()
        _expect_error(lu, H.get_request(a, "/big", "X-Big: %s\r\n" % ("b" * 5000)).encode(), 431, "head > 4096")
        _expect_error(lu, H.get_request(a, "/big", "".join("X-H%d: %s\r\n" % (i, "v" * 90) for i in range(50))).encode(),
                      431, "many headers adding up to > 4096")
        m = H.raw_request(lu.port, H.get_request(a, "/small", "X-Big: %s\r\n" % ("s" * 3000)))
        eq(m.status, 200, "a 3 KB head is under the 4096 limit")
        check(lu.alive(), "lucent died")
    finally:
        lu.stop()
        o.stop()


def test_431_max_header_size_suffix():
    o = H.Origin(H.handler_fixed())
    lu = H.Lucent(["--max-header-size", "2k"])
    try:
        a = o.authority()
        _expect_error(lu, H.get_request(a, "/big", "X-Big: %s\r\n" % ("b" * 2500)).encode(), 431, "head > 2k")
        m = H.raw_request(lu.port, H.get_request(a, "/small", "X-Big: %s\r\n" % ("s" * 1500)))
        eq(m.status, 200)
    finally:
        lu.stop()
        o.stop()


def test_431_max_headers():
    o = H.Origin(H.handler_fixed())
    lu = H.Lucent(["--max-headers", "10"])
    try:
        a = o.authority()
        _expect_error(lu, H.get_request(a, "/many", "".join("X-H%d: v\r\n" % i for i in range(15))).encode(), 431,
                      "16 header fields > --max-headers 10")
        m = H.raw_request(lu.port, H.get_request(a, "/few", "".join("X-H%d: v\r\n" % i for i in range(6))))
        eq(m.status, 200, "7 header fields are within --max-headers 10")
    finally:
        lu.stop()
        o.stop()


def test_408_header_timeout_silent():
    lu = H.Lucent(["--header-timeout", "0.5"])
    try:
        c = H.RawClient(lu.port, timeout=10)
        try:
            c.send("GET http://a.test:1/ HTTP/1.1\r\nHost: a.te")
            t0 = time.monotonic()
            m = c.response()
            eq(m.status, 408)
            check(m.body.startswith(b"lucent: "), "body %r" % m.body)
            check(time.monotonic() - t0 < 9, "408 came too late")
            check(c.at_eof(5), "connection not closed after 408")
        finally:
            c.close()
        check(lu.alive(), "lucent died")
    finally:
        lu.stop()


def test_408_header_timeout_dribble():
    # a slowloris client sending one byte every 0.1 s must still hit the deadline
    lu = H.Lucent(["--header-timeout", "0.5"])
    try:
        c = H.RawClient(lu.port, timeout=10)
        try:
            req = b"GET http://a.test:1/ HTTP/1.1\r\nHost: a.test:1\r\nX-Slow: " + b"z" * 200
            got = b""
            c.sock.settimeout(0.1)
            deadline = time.monotonic() + 8
            i = 0
            while time.monotonic() < deadline and i < len(req):
                try:
                    c.sock.sendall(req[i:i + 1])
                except OSError:
                    break
                i += 1
                try:
                    d = c.sock.recv(65536)
                    if not d:
                        break
                    got += d
                    if b"\r\n\r\n" in got:
                        break
                except socket.timeout:
                    pass
                except OSError:
                    break
            check(got.startswith(b"HTTP/1.1 408") or got.startswith(b"HTTP/1.0 408"),
                  "dribbling client: expected 408, got %r after %d bytes" % (got[:100], i))
        finally:
            c.close()
    finally:
        lu.stop()


def test_idle_timeout_closes_silently():
    n = H.Nginx()
    lu = H.Lucent(["--idle-timeout", "0.5"])
    try:
        c = H.RawClient(lu.port, timeout=10)
        try:
            m = c.request(H.get_request("a.test:%d" % n.port, "/hello.txt"))
            eq(m.status, 200)
            t0 = time.monotonic()
            check(c.at_eof(8), "idle keep-alive connection not closed by --idle-timeout 0.5")
            check(time.monotonic() - t0 < 8, "closed too late")
            eq(c.reader.buf, b"", "idle close must be silent")
        finally:
            c.close()
        # a fresh connection works
        m = H.raw_request(lu.port, H.get_request("a.test:%d" % n.port, "/hello.txt"))
        eq(m.body, H.HELLO_TXT)
    finally:
        lu.stop()
        n.stop()


def test_idle_keepalive_survives_short_pause(ctx):
    # default --idle-timeout is 60 s: a 1 s pause must not close the connection
    c = H.RawClient(ctx.lucent.port)
    try:
        eq(c.request(H.get_request(ctx.auth, "/hello.txt")).status, 200)
        time.sleep(1.0)
        eq(c.request(H.get_request(ctx.auth, "/hello.txt")).body, H.HELLO_TXT)
    finally:
        c.close()


def test_client_half_close_after_request(ctx):
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send(H.get_request(ctx.auth, "/1k.bin"))
        c.shutdown_write()
        m = c.response()
        eq(m.status, 200)
        eq(m.body, ctx.nginx.files["1k.bin"])
    finally:
        c.close()


def test_abrupt_client_disconnects(ctx):
    # clients vanishing mid-request / mid-response must not hurt lucent
    a = ctx.auth
    for data in (H.get_request(a, "/big.bin"), "GET http://%s/x HTTP/1.1\r\nHo" % a,
                 "POST http://%s/x HTTP/1.1\r\nHost: %s\r\nContent-Length: 100000\r\n\r\nabc" % (a, a)):
        c = H.RawClient(ctx.lucent.port)
        c.send(data)
        time.sleep(0.05)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    time.sleep(0.3)
    check(ctx.lucent.alive(), "lucent died after abrupt disconnects")


def test_response_streamed_not_buffered():
    # the origin sends head + part of the body, then waits: the client must
    # see the partial body before the origin sends the rest
    import threading
    go = threading.Event()

    def h(c):
        c.read_request()
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"a" * 100000)
        go.wait(15)
        c.send(b"b" * 100000)
    o = H.Origin(h)
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port, timeout=10)
        try:
            c.send(H.get_request(o.authority(), "/stream"))
            try:
                c.reader.read_until(b"\r\n\r\n")
                first = c.reader.read_exact(100000)
            except OSError:
                raise AssertionError("response body not streamed: first half never arrived")
            finally:
                go.set()
            eq(first, b"a" * 100000)
            eq(c.reader.read_exact(100000), b"b" * 100000)
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_request_body_streamed_not_buffered():
    # the client sends head + part of the body and waits: the origin must see it
    o = H.Origin(H.handler_fixed(body=lambda req: b"%d" % len(req.body)))
    lu = H.Lucent()
    try:
        a = o.authority()
        c = H.RawClient(lu.port, timeout=10)
        try:
            c.send("PUT http://%s/up HTTP/1.1\r\nHost: %s\r\nContent-Length: 200000\r\n\r\n" % (a, a))
            c.send(b"x" * 100000)
            ok = H.wait_until(lambda: o.conns and len(o.conns[0].reader.raw) >= 100000, 10)
            check(ok, "request body not streamed to the origin (origin has %d bytes)"
                  % (len(o.conns[0].reader.raw) if o.conns else -1))
            c.send(b"y" * 100000)
            m = c.response()
            eq(m.body, b"200000")
        finally:
            c.close()
        eq(o.requests[0].body, b"x" * 100000 + b"y" * 100000)
    finally:
        lu.stop()
        o.stop()


def test_big_upload_curl():
    o = H.Origin(H.handler_fixed(body=lambda req: H.sha256(req.body).encode()))
    lu = H.Lucent()
    try:
        d = H.mktemp()
        body = os.urandom(8 * 1024 * 1024)
        p = os.path.join(d, "up.bin")
        with open(p, "wb") as f:
            f.write(body)
        r = H.curl(lu, "-T", p, o.url("/put"), max_time=40)
        eq(r.rc, 0, r.err)
        eq(r.text, H.sha256(body))
        # chunked upload of the same file
        r = H.curl(lu, "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + p, o.url("/post-chunked"), max_time=40)
        eq(r.rc, 0, r.err)
        eq(r.text, H.sha256(body))
        eq(o.requests[-1].get("Transfer-Encoding"), "chunked")
    finally:
        lu.stop()
        o.stop()


def test_two_origins_one_client_connection():
    oa = H.Origin(H.handler_fixed(body=b"A"))
    ob = H.Origin(H.handler_fixed(body=b"B"))
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            seq = [(oa, b"A"), (ob, b"B"), (oa, b"A"), (ob, b"B")]
            for o, want in seq:
                m = c.request(H.get_request(o.authority(), "/which"))
                eq(m.body, want)
            # pipelined across origins
            c.send(H.get_request(oa.authority(), "/p") + H.get_request(ob.authority(), "/p") +
                   H.get_request(oa.authority(), "/p"))
            eq([c.response().body for _ in range(3)], [b"A", b"B", b"A"])
        finally:
            c.close()
    finally:
        lu.stop()
        oa.stop()
        ob.stop()


def test_origin_connection_close_not_reused():
    o = H.Origin(H.handler_fixed(headers=[("Connection", "close")], body=b"once"))
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            for i in range(3):
                m = c.request(H.get_request(o.authority(), "/cc%d" % i))
                eq(m.status, 200, "request %d" % i)
                eq(m.body, b"once")
        finally:
            c.close()
        eq(len(o.conns), 3, "a new upstream connection per request after Connection: close")
    finally:
        lu.stop()
        o.stop()


def test_origin_silently_closes_idle_upstream():
    # the origin closes its keep-alive connection after each response without
    # saying so (like a server keepalive_timeout); lucent must not send the
    # next request into the dead connection and answer 502
    def h(c):
        req = c.read_request()
        if req is not None:
            c.respond(200, "OK", [("Content-Type", "text/plain")], b"served")
    o = H.Origin(h)
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            for i in range(3):
                m = c.request(H.get_request(o.authority(), "/idle%d" % i))
                eq((m.status, m.body), (200, b"served"), "request %d after the origin closed the previous connection" % i)
                time.sleep(0.3)
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_http10_keepalive_with_length(ctx):
    c = H.RawClient(ctx.lucent.port)
    try:
        for i in range(2):
            m = c.request(H.get_request(ctx.auth, "/hello.txt", "Connection: keep-alive\r\n", version="HTTP/1.0"))
            eq(m.status, 200)
            eq(m.body, H.HELLO_TXT)
            check(not m.chunked, "chunked to HTTP/1.0")
    finally:
        c.close()


def test_http10_keepalive_close_delimited_closes():
    o = H.Origin(H.handler_close_delimited(body=b"z" * 5000))
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(o.authority(), "/cd", "Connection: keep-alive\r\n", version="HTTP/1.0"))
            eq(m.body, b"z" * 5000)     # read to EOF: lucent must close to delimit it
            check(not m.chunked, "chunked to HTTP/1.0")
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_204_and_304_no_body_keepalive():
    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            if req.target == "/204":
                c.send(b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
            elif req.target == "/304":
                c.send(b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
            else:
                c.respond(200, "OK", [], b"after")
    o = H.Origin(h)
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            a = o.authority()
            c.send(H.get_request(a, "/204") + H.get_request(a, "/304") + H.get_request(a, "/x"))
            m1, m2, m3 = c.response(), c.response(), c.response()
            eq((m1.status, m1.body), (204, b""))
            check(not m1.has("Transfer-Encoding") and m1.get("Content-Length") in (None, "0"), "204 framing: %r" % m1.headers)
            eq((m2.status, m2.body), (304, b""))
            check(not m2.has("Transfer-Encoding"), "304 framing: %r" % m2.headers)
            eq((m3.status, m3.body), (200, b"after"))
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_head_to_python_origin_with_length():
    o = H.Origin(H.handler_fixed(body=b"x" * 5000))   # HEAD answered with CL: 5000, no body
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            a = o.authority()
            m = c.request(H.get_request(a, "/h", method="HEAD"), "HEAD")
            eq(m.status, 200)
            eq(m.body, b"")
            m = c.request(H.get_request(a, "/g"))
            eq(m.body, b"x" * 5000)
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_target_bytes_preserved_and_ip_literals():
    o = H.Origin(H.handler_fixed(body=b"lit"))
    o6 = H.Origin(H.handler_fixed(body=b"lit6"), host="::1")
    lu = H.Lucent()
    try:
        path = "/a%2Fb/%7Euser;p=1/x.y?q=%41&r=a+b&s=%E2%82%AC#"
        path = path[:-1]       # no fragment on the wire
        m = H.raw_request(lu.port, H.get_request(o.authority(), path))
        eq(m.body, b"lit")
        eq(o.requests[-1].target, path, "request target forwarded byte-exact")
        m = H.raw_request(lu.port, H.get_request("127.0.0.1:%d" % o.port, "/ip4"))
        eq(m.body, b"lit")
        eq(o.requests[-1].get("Host"), "127.0.0.1:%d" % o.port)
        m = H.raw_request(lu.port, H.get_request("[::1]:%d" % o6.port, "/ip6"))
        eq(m.body, b"lit6")
        eq(o6.requests[-1].get("Host"), "[::1]:%d" % o6.port)
        f = lu.wait_flow(lambda f: f.get("url") == "http://[::1]:%d/ip6" % o6.port, 5)
        check(f, "flow url for an IPv6 literal:\n" + lu.flow_text()[-1500:])
    finally:
        lu.stop()
        o.stop()
        o6.stop()


def test_many_concurrent_clients(ctx):
    import threading
    errors = []

    def worker(i):
        try:
            c = H.RawClient(ctx.lucent.port, timeout=20)
            try:
                for j in range(5):
                    name = ("1k.bin", "64k.bin", "hello.txt")[(i + j) % 3]
                    m = c.request(H.get_request(ctx.auth, "/" + name + "?c=%d-%d" % (i, j)))
                    if m.status != 200 or m.body != ctx.nginx.files[name]:
                        errors.append("client %d req %d: %d, %d bytes" % (i, j, m.status, len(m.body)))
            finally:
                c.close()
        except Exception as e:  # noqa
            errors.append("client %d: %r" % (i, e))
    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(40)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(40)
    check(not any(t.is_alive() for t in ts), "clients still running")
    check(not errors, "; ".join(errors[:10]))


def test_expect_100_continue_refused_gets_502():
    port = H.free_port()
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port, timeout=10)
        try:
            c.send("POST http://a.test:%d/x HTTP/1.1\r\nHost: a.test:%d\r\nContent-Length: 5\r\n"
                   "Expect: 100-continue\r\n\r\n" % (port, port))
            head = c.reader.read_until(b"\r\n\r\n")
            check(re.match(rb"HTTP/1\.1 502 ", head), "refused upstream: expected 502 (no 100 Continue), got %r" % head)
        finally:
            c.close()
    finally:
        lu.stop()


def test_408_on_second_request_of_keepalive_connection():
    n = H.Nginx()
    lu = H.Lucent(["--header-timeout", "0.5"])
    try:
        c = H.RawClient(lu.port, timeout=10)
        try:
            a = "a.test:%d" % n.port
            eq(c.request(H.get_request(a, "/hello.txt")).status, 200)
            c.send("GET http://%s/hello.txt HTTP/1.1\r\nHo" % a)
            m = c.response()
            eq(m.status, 408)
        finally:
            c.close()
    finally:
        lu.stop()
        n.stop()


def test_431_long_url():
    lu = H.Lucent(["--max-header-size", "4096"])
    try:
        _expect_error(lu, H.get_request("a.test:1", "/" + "u" * 6000).encode(), 431, "request line > 4096")
    finally:
        lu.stop()


def test_still_alive_and_serving(ctx):
    check(ctx.lucent.alive(), "lucent is not running")
    r = H.curl(ctx.lucent, "-o", "-", ctx.nginx.url("/64k.bin"))
    eq(r.rc, 0, r.err)
    eq(H.sha256(r.out), H.sha256(ctx.nginx.files["64k.bin"]))


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)
