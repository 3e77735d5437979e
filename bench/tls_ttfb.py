#!/usr/bin/env python3
"""bench/tls_ttfb.py - time to first byte of HTTPS requests, each on a new
connection, to many new host names versus one (cached) host name.

Used by bench/tls (section 3); Python 3 standard library only.

usage: tls_ttfb.py --port PORT --cafile PEM --cached HOST --new-fmt FMT --count N
                   [--proxy HOST:PORT] [--path /1k.bin] [--size 1024]
                   [--warmup 5] [--revisit] [--timeout 10]

For i = 1..N it alternates one request to FMT % i (a host name never asked
for before, e.g. h%d.b.test) and one to --cached (warmed up first), so both
series see the same conditions.  With --revisit the N new names are then
asked for once more (now known to the proxy: cached leaf, warm resolver).

Each request is a fresh TCP connection (and with --proxy a CONNECT
HOST:PORT through it), a full TLS handshake (SNI = host name, verified
against --cafile; no session resumption), "GET PATH" and Connection: close.
The clock runs from just before the TCP connect to the first byte of the
HTTP response; the whole body is then read and its length checked.  Phases
(medians) are reported too: "tunnel" = TCP connect + CONNECT answered (0
when direct), "handshake" = TLS handshake, "response" = request sent to
first response byte.

Output: a readable table, then one machine line per series:
  TTFB series=new n=200 err=0 med_ms=.. p10_ms=.. p90_ms=.. mean_ms=.. tunnel_ms=.. handshake_ms=.. response_ms=..
and a final line
  TTFBDIFF new_med_ms=.. cached_med_ms=.. diff_ms=.. [revisit_med_ms=..]
Exit status 0 if every request succeeded, 1 otherwise, 2 on usage errors.
"""

import argparse
import gc
import socket
import ssl
import statistics
import sys
import time


class Fail(Exception):
    pass


def recv_until(sock, marker, limit=65536):
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise Fail("connection closed before %r (got %r)" % (marker, data[:200]))
        data += chunk
        if len(data) > limit:
            raise Fail("no %r within %d bytes" % (marker, limit))
    return data


def one(args, ctx, host):
    """-> (total, tunnel, handshake, response) seconds; raises on failure."""
    pc = time.perf_counter
    t0 = pc()
    if args.proxy:
        ph, pp = args.proxy.rsplit(":", 1)
        raw = socket.create_connection((ph, int(pp)), timeout=args.timeout)
    else:
        raw = socket.create_connection((host, args.port), timeout=args.timeout)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if args.proxy:
            raw.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
                         % (host, args.port, host, args.port)).encode())
            head = recv_until(raw, b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            if b" 200" not in status:
                raise Fail("CONNECT %s:%d -> %r" % (host, args.port, status))
            extra = head.split(b"\r\n\r\n", 1)[1]
            if extra:
                raise Fail("proxy sent %d bytes after the CONNECT answer" % len(extra))
        t1 = pc()
        tls = ctx.wrap_socket(raw, server_hostname=host, do_handshake_on_connect=False)
        raw = tls
        tls.do_handshake()
        t2 = pc()
        tls.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: lucent-bench-ttfb\r\n"
                     "Connection: close\r\n\r\n" % (args.path, host, args.port)).encode())
        first = tls.recv(65536)
        t3 = pc()
        if not first:
            raise Fail("no response")
        data = first
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                raise Fail("connection closed inside the response head")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 200"):
            raise Fail("GET https://%s:%d%s -> %r" % (host, args.port, args.path, lines[0]))
        clen = None
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            if k.strip().lower() == b"content-length":
                clen = int(v.strip())
        got = len(body)
        while True:
            try:
                chunk = tls.recv(65536)
            except ssl.SSLError as e:      # peer closed without close_notify
                if clen is not None and got >= clen:
                    break
                raise
            if not chunk:
                break
            got += len(chunk)
            if clen is not None and got >= clen:
                break
        want = clen if clen is not None else args.size
        if got != want or (args.size and got != args.size):
            raise Fail("body of https://%s:%d%s: %d bytes, want %d"
                       % (host, args.port, args.path, got, args.size or want))
        return t3 - t0, t1 - t0, t2 - t1, t3 - t2
    finally:
        try:
            raw.close()
        except OSError:
            pass


def pct(xs, p):
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class Series:
    def __init__(self, name):
        self.name = name
        self.total, self.tunnel, self.hs, self.resp = [], [], [], []
        self.err = 0
        self.first_err = None

    def add(self, r):
        a, b, c, d = r
        self.total.append(a * 1e3)
        self.tunnel.append(b * 1e3)
        self.hs.append(c * 1e3)
        self.resp.append(d * 1e3)

    def med(self, xs):
        return statistics.median(xs) if xs else float("nan")

    def line(self):
        return ("TTFB series=%s n=%d err=%d med_ms=%.3f p10_ms=%.3f p90_ms=%.3f mean_ms=%.3f "
                "tunnel_ms=%.3f handshake_ms=%.3f response_ms=%.3f"
                % (self.name, len(self.total), self.err, self.med(self.total),
                   pct(self.total, 10), pct(self.total, 90),
                   statistics.mean(self.total) if self.total else float("nan"),
                   self.med(self.tunnel), self.med(self.hs), self.med(self.resp)))


def run(args, ctx, series, host):
    try:
        series.add(one(args, ctx, host))
    except (OSError, ssl.SSLError, Fail, ValueError) as e:
        series.err += 1
        if series.first_err is None:
            series.first_err = "%s: %s" % (host, e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proxy", help="HOST:PORT of the proxy (CONNECT); default: direct")
    ap.add_argument("--port", type=int, required=True, help="origin HTTPS port")
    ap.add_argument("--cafile", required=True, help="CA bundle (PEM) the client trusts")
    ap.add_argument("--cached", required=True, help="the one host name asked for repeatedly")
    ap.add_argument("--new-fmt", required=True, help="new host names, e.g. h%%d.b.test")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--path", default="/1k.bin")
    ap.add_argument("--size", type=int, default=1024, help="expected body size (0: any)")
    ap.add_argument("--warmup", type=int, default=5, help="requests to --cached first")
    ap.add_argument("--revisit", action="store_true", help="ask for the new names again")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    if args.count < 1 or "%d" not in args.new_fmt:
        ap.error("--count must be >= 1 and --new-fmt must contain %d")

    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.set_alpn_protocols(["http/1.1"])

    warm = Series("warmup")
    for _ in range(args.warmup):
        run(args, ctx, warm, args.cached)
    if warm.err:
        print("warm-up failed: %s" % warm.first_err, file=sys.stderr)

    new, cached = Series("new"), Series("cached")
    gc.disable()
    for i in range(1, args.count + 1):
        run(args, ctx, new, args.new_fmt % i)
        run(args, ctx, cached, args.cached)
    revisit = None
    if args.revisit:
        revisit = Series("revisit")
        for i in range(1, args.count + 1):
            run(args, ctx, revisit, args.new_fmt % i)
    gc.enable()

    allser = [s for s in (new, cached, revisit) if s is not None]
    print("  %-8s %5s %4s %9s %9s %9s %9s   %9s %9s %9s" % (
        "series", "n", "err", "median", "p10", "p90", "mean", "tunnel", "handshake", "response"))
    for s in allser:
        if s.total:
            print("  %-8s %5d %4d %7.3fms %7.3fms %7.3fms %7.3fms   %7.3fms %7.3fms %7.3fms" % (
                s.name, len(s.total), s.err, s.med(s.total), pct(s.total, 10), pct(s.total, 90),
                statistics.mean(s.total), s.med(s.tunnel), s.med(s.hs), s.med(s.resp)))
        else:
            print("  %-8s %5d %4d  (no successful request)" % (s.name, 0, s.err))
        if s.first_err:
            print("  %-8s first error: %s" % ("", s.first_err))
    for s in allser:
        print(s.line())
    out = "TTFBDIFF new_med_ms=%.3f cached_med_ms=%.3f diff_ms=%.3f" % (
        new.med(new.total), cached.med(cached.total),
        new.med(new.total) - cached.med(cached.total))
    if revisit is not None:
        out += " revisit_med_ms=%.3f" % revisit.med(revisit.total)
    print(out)
    sys.stdout.flush()
    return 0 if all(s.err == 0 and s.total for s in allser) and not warm.err else 1


if __name__ == "__main__":
    sys.exit(main())
