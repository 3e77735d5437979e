"""CONNECT tunnels and protocol upgrades through lucent.

Covers: HTTPS passed through a CONNECT tunnel untouched (lucent runs with
--ignore-hosts for a.test) to nginx with a self-signed a.test certificate
using curl (--cacert, byte-exact big file) and `openssl s_client -proxy`;
the "200 Connection established" reply; the passthrough CONNECT flow record
(byte counts, sni); the same tunnel without --ignore-hosts is intercepted
(lucent's certificate, an https flow, no CONNECT record); a 1 MiB
bidirectional byte-exact opaque tunnel to a raw echo server (server speaks
first) and a client-first non-TLS, non-HTTP tunnel; CONNECT to a refused
port and to an unknown host -> 502; CONNECT flow records; a WebSocket-style
Upgrade (101 Switching Protocols, Upgrade/Connection forwarded) after which
bytes are echoed through the tunnel.  HTTPS interception itself is covered
by test_tls.py.

Run: python3 tests/e2e/test_connect.py --lucent build/lucent
"""

import os
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402


def setup():
    ctx = H.Ctx()
    ctx.nginx = H.Nginx(tls=True)
    # keep testing passthrough: a.test (any port) is not intercepted
    ctx.lucent = H.Lucent(["--ignore-hosts", r"^a\.test:[0-9]+$"])
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


def _https(ctx, path):
    return "https://a.test:%d%s" % (ctx.nginx.tls_port, path)


def test_curl_https_via_connect(ctx):
    r = H.curl(ctx.lucent, "-v", "--cacert", ctx.nginx.cert, "-o", "-", _https(ctx, "/hello.txt"))
    eq(r.rc, 0, r.err)
    eq(r.out, H.HELLO_TXT)
    contains(r.err, "CONNECT a.test:%d HTTP/1.1" % ctx.nginx.tls_port)
    check(re.search(r"HTTP/1\.[01] 200 Connection established", r.err, re.I),
          "no '200 Connection established' in curl -v output:\n" + r.err[-2000:])
    check("SSL certificate verify ok" in r.err or "SSL connection using" in r.err, "TLS not verified")


def test_curl_https_big_file(ctx):
    r = H.curl(ctx.lucent, "--cacert", ctx.nginx.cert, "-o", "-", _https(ctx, "/big.bin"), max_time=40)
    eq(r.rc, 0, r.err)
    eq(H.sha256(r.out), H.sha256(ctx.nginx.files["big.bin"]))


def test_curl_https_two_requests_one_tunnel(ctx):
    r = H.curl(ctx.lucent, "-v", "--cacert", ctx.nginx.cert, "-o", "-", _https(ctx, "/1k.bin"),
               "-o", "-", _https(ctx, "/64k.bin"))
    eq(r.rc, 0, r.err)
    eq(H.sha256(r.out), H.sha256(ctx.nginx.files["1k.bin"] + ctx.nginx.files["64k.bin"]))


def test_connect_flow_record(ctx):
    auth = "a.test:%d" % ctx.nginx.tls_port
    f = ctx.lucent.wait_flow(lambda f: f.get("method") == "CONNECT" and f.get("url") == auth, 10)
    check(f, "no CONNECT flow record; flow log:\n" + ctx.lucent.flow_text()[-3000:])
    eq(f["status"], 200)
    eq(f["error"], None)
    eq(f["server"], "127.0.0.1:%d" % ctx.nginx.tls_port)
    eq(f["sni"], "a.test", "the passthrough record names the SNI the client sent")
    eq(f["tls_client"], None)
    eq(f["tls"], False)
    check(isinstance(f["request_size"], int) and f["request_size"] > 100, "request_size %r" % f["request_size"])
    check(isinstance(f["response_size"], int) and f["response_size"] > len(H.HELLO_TXT),
          "response_size %r" % f["response_size"])
    # the big-file tunnel carried > 4 MiB downstream
    big = ctx.lucent.wait_flow(lambda f: f.get("method") == "CONNECT" and f.get("url") == auth
                               and f.get("response_size", 0) > len(ctx.nginx.files["big.bin"]), 10)
    check(big, "no CONNECT record with response_size > big.bin size")
    line = ctx.lucent.wait_stdout(r" CONNECT " + re.escape(auth) + r" \u2192 200 \u2191", 5)
    check(line, "no CONNECT line on stdout:\n" + ctx.lucent.stdout()[-2000:])


def test_openssl_s_client_proxy(ctx):
    req = b"GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    cmd = ["openssl", "s_client", "-proxy", "127.0.0.1:%d" % ctx.lucent.port,
           "-connect", "a.test:%d" % ctx.nginx.tls_port, "-servername", "a.test",
           "-CAfile", ctx.nginx.cert, "-verify_return_error", "-ign_eof"]
    p = H._register_proc(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        out, err = p.communicate(req, timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        raise AssertionError("openssl s_client hung; stderr: %r" % err[-1000:])
    text = out.decode("latin-1")
    eq(p.returncode, 0, "openssl s_client exit status; stderr: %r" % err[-1000:])
    contains(text, "Verify return code: 0 (ok)")
    contains(text, "HTTP/1.1 200 OK")
    contains(text, H.HELLO_TXT.decode())


def test_tls_tunnel_intercepted_without_ignore_hosts(ctx):
    # the same origin, no --ignore-hosts: lucent intercepts (its own certificate)
    lu = H.Lucent(["--upstream-ca", ctx.nginx.cert])
    try:
        auth = "a.test:%d" % ctx.nginx.tls_port
        r = H.curl(lu, "-v", "--cacert", lu.ca_cert, "-o", "-", _https(ctx, "/hello.txt?icpt=1"))
        eq(r.rc, 0, r.err[-2000:])
        eq(r.out, H.HELLO_TXT)
        check(re.search(r"issuer: CN=lucent CA", r.err), "lucent's certificate expected:\n" + r.err[-2000:])
        f = lu.wait_flow(lambda f: f.get("url") == "https://%s/hello.txt?icpt=1" % auth, 10)
        check(f, "no https flow record:\n" + lu.flow_text()[-2000:])
        eq(f["tls"], True)
        eq(f["status"], 200)
        time.sleep(0.5)
        check(not [x for x in lu.flows() if x.get("method") == "CONNECT"], "no CONNECT record when intercepted")
        # the origin's own CA alone no longer verifies: the client sees lucent's leaf
        r = H.curl(lu, "--cacert", ctx.nginx.cert, "-o", "/dev/null", "https://%s/hello.txt?icpt=2" % auth)
        eq(r.rc, 60, r.err[-1000:])
    finally:
        lu.stop()


def test_raw_tunnel_bidirectional_1mib():
    o = H.Origin(H.handler_tcp_echo(b"SERVER-FIRST\n"))
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port, timeout=20)
        try:
            auth = o.authority()
            c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (auth, auth))
            m = c.response("CONNECT")
            eq(m.status, 200)
            eq(m.body, b"")
            eq(c.reader.read_exact(len(b"SERVER-FIRST\n")), b"SERVER-FIRST\n", "server-speaks-first byte")
            payload = os.urandom(1 << 20)
            err = []

            def sender():
                try:
                    c.sock.sendall(payload)
                except Exception as e:  # noqa
                    err.append(e)
            t = threading.Thread(target=sender, daemon=True)
            t.start()
            got = c.reader.read_exact(len(payload))
            t.join(10)
            check(not err, "send failed: %r" % err)
            eq(H.sha256(got), H.sha256(payload), "1 MiB echoed through the tunnel")
            # half-close from the client propagates: the echo server sees EOF and closes
            c.shutdown_write()
            check(c.at_eof(10), "tunnel not closed after client half-close + server close")
        finally:
            c.close()
        f = lu.wait_flow(lambda f: f.get("method") == "CONNECT", 10)
        check(f, "no CONNECT record")
        eq(f["request_size"], len(payload))
        eq(f["response_size"], len(payload) + len(b"SERVER-FIRST\n"))
        eq(f["sni"], None)
        eq(f["tls"], False)
    finally:
        lu.stop()
        o.stop()


def test_connect_bytes_sent_with_connect_head():
    # data pipelined right behind the CONNECT head belongs to the tunnel
    o = H.Origin(H.handler_tcp_echo())
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            auth = o.authority()
            c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nearly-bytes" % (auth, auth))
            m = c.response("CONNECT")
            eq(m.status, 200)
            eq(c.reader.read_exact(len("early-bytes")), b"early-bytes")
        finally:
            c.close()
        f = lu.wait_flow(lambda f: f.get("method") == "CONNECT", 10)
        check(f, "no CONNECT record for the opaque tunnel")
        eq(f["request_size"], len("early-bytes"))
        eq(f["sni"], None)
    finally:
        lu.stop()
        o.stop()


def test_client_first_binary_tunnel_is_opaque():
    # neither a ClientHello nor a request line: bytes pass through untouched
    o = H.Origin(H.handler_tcp_echo())
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            auth = o.authority()
            c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (auth, auth))
            eq(c.response("CONNECT").status, 200)
            payload = b"\x00\x01binary\xff" + os.urandom(5000)
            c.send(payload)
            eq(c.reader.read_exact(len(payload)), payload)
            # a "request line" later in the stream is just data now
            c.send(b"GET / HTTP/1.1\r\n\r\n")
            eq(c.reader.read_exact(18), b"GET / HTTP/1.1\r\n\r\n")
        finally:
            c.close()
        f = lu.wait_flow(lambda f: f.get("method") == "CONNECT", 10)
        check(f, "no CONNECT record")
        eq(f["request_size"], len(payload) + 18)
        eq(f["response_size"], len(payload) + 18)
        eq(o.conns[0].raw, payload + b"GET / HTTP/1.1\r\n\r\n", "origin got exactly the client's bytes")
    finally:
        lu.stop()
        o.stop()


def test_connect_refused_502(ctx):
    port = H.free_port()
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send("CONNECT a.test:%d HTTP/1.1\r\nHost: a.test:%d\r\n\r\n" % (port, port))
        m = c.response()
        eq(m.status, 502)
        check(m.body.startswith(b"lucent: "), "body %r" % m.body)
        check(re.search(rb"refused", m.body, re.I), "body should mention refused: %r" % m.body)
        check(c.at_eof(5), "connection not closed after failed CONNECT")
    finally:
        c.close()
    f = ctx.lucent.wait_flow(lambda f: f.get("method") == "CONNECT" and f.get("url") == "a.test:%d" % port, 10)
    check(f, "no flow record for the failed CONNECT")
    eq(f["status"], 502)
    check(f["error"], "error must be set: %r" % f)


def test_connect_refused_curl(ctx):
    port = H.free_port()
    r = H.curl(ctx.lucent, "--cacert", ctx.nginx.cert, "https://a.test:%d/" % port)
    check(r.rc != 0, "curl must fail")
    contains(r.err, "502")


def test_connect_unknown_host_502(ctx):
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send("CONNECT nope.test:443 HTTP/1.1\r\nHost: nope.test:443\r\n\r\n")
        m = c.response()
        eq(m.status, 502)
        contains(m.body.decode(), "cannot resolve nope.test")
    finally:
        c.close()
    f = ctx.lucent.wait_flow(lambda f: f.get("method") == "CONNECT" and f.get("url") == "nope.test:443", 10)
    check(f and f["status"] == 502 and f["error"], "flow record: %r" % f)


def test_connect_ipv6_literal():
    o = H.Origin(H.handler_tcp_echo(b"v6-tunnel"), host="::1")
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            t = "[::1]:%d" % o.port
            c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (t, t))
            m = c.response("CONNECT")
            eq(m.status, 200)
            eq(c.reader.read_exact(9), b"v6-tunnel")
        finally:
            c.close()
        f = lu.wait_flow(lambda f: f.get("method") == "CONNECT", 10)
        check(f, "no CONNECT record")
        eq(f["url"], "[::1]:%d" % o.port)
        eq(f["server"], "[::1]:%d" % o.port)
    finally:
        lu.stop()
        o.stop()


def test_connect_v6_name():
    o = H.Origin(H.handler_tcp_echo(b"v6name"), host="::1")
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            c.send("CONNECT v6.test:%d HTTP/1.1\r\nHost: v6.test:%d\r\n\r\n" % (o.port, o.port))
            eq(c.response("CONNECT").status, 200)
            eq(c.reader.read_exact(6), b"v6name")
        finally:
            c.close()
    finally:
        lu.stop()
        o.stop()


def test_connect_without_port_400(ctx):
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send("CONNECT a.test HTTP/1.1\r\nHost: a.test\r\n\r\n")
        m = c.response()
        eq(m.status, 400)
        check(m.body.startswith(b"lucent: "), "body %r" % m.body)
    finally:
        c.close()


def test_connect_client_closes_tunnel_server_sees_eof():
    closed = []

    def h(c):
        c.send(b"hi")
        c.sock.settimeout(10)
        try:
            while True:
                d = c.sock.recv(65536)
                if not d:
                    closed.append(True)
                    return
        except OSError:
            closed.append(True)
    o = H.Origin(h)
    lu = H.Lucent()
    try:
        c = H.RawClient(lu.port)
        try:
            a = o.authority()
            c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, a))
            eq(c.response("CONNECT").status, 200)
            eq(c.reader.read_exact(2), b"hi")
        finally:
            c.close()
        check(H.wait_until(lambda: closed, 10), "server side of the tunnel not closed after the client left")
        f = lu.wait_flow(lambda f: f.get("method") == "CONNECT", 10)
        check(f, "tunnel flow recorded after the client closed")
    finally:
        lu.stop()
        o.stop()


def test_websocket_upgrade_echo():
    o = H.Origin(H.handler_upgrade_echo())
    lu = H.Lucent()
    try:
        a = o.authority()
        c = H.RawClient(lu.port, timeout=10)
        try:
            c.send("GET http://%s/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % (a, a))
            m = c.response()
            eq(m.status, 101)
            eq((m.get("Upgrade") or "").lower(), "websocket")
            check("upgrade" in (m.get("Connection") or "").lower(), "Connection: upgrade to client: %r" % m.headers)
            for msg in (b"ping-1", b"\x81\x05hello", os.urandom(70000)):
                c.send(msg)
                eq(c.reader.read_exact(len(msg)), msg, "echo through the upgraded connection")
        finally:
            c.close()
        check(o.wait_requests(1), "origin got no request")
        r = o.requests[0]
        eq(r.start_line, "GET /ws HTTP/1.1")
        eq((r.get("Upgrade") or "").lower(), "websocket", "Upgrade forwarded")
        check("upgrade" in (r.get("Connection") or "").lower(), "Connection: upgrade forwarded: %r" % r.headers)
        eq(r.get("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==")
        f = lu.wait_flow(lambda f: f.get("url") == o.url("/ws"), 10)
        check(f, "no flow record for the upgrade")
        eq(f["status"], 101)
    finally:
        lu.stop()
        o.stop()


def test_upgrade_header_dropped_without_upgrade_request():
    # a non-upgrade request carrying a stray Upgrade header must not forward it
    o = H.Origin(H.handler_fixed())
    lu = H.Lucent()
    try:
        a = o.authority()
        m = H.raw_request(lu.port, "GET http://%s/noup HTTP/1.1\r\nHost: %s\r\nUpgrade: h2c\r\n\r\n" % (a, a))
        eq(m.status, 200)
        check(not o.requests[0].has("Upgrade"), "Upgrade without Connection: upgrade forwarded: %r"
              % o.requests[0].headers)
    finally:
        lu.stop()
        o.stop()


def test_still_alive(ctx):
    check(ctx.lucent.alive(), "lucent died")
    r = H.curl(ctx.lucent, "--cacert", ctx.nginx.cert, "-o", "-", _https(ctx, "/hello.txt"))
    eq(r.out, H.HELLO_TXT)


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)
