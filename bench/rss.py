#!/usr/bin/env python3
"""Idle keep-alive connection memory probe for lucent (stdlib only).

usage: rss.py --pid PID --proxy 127.0.0.1:PORT --url http://127.0.0.1:NGINXPORT/1k.bin
              [--count 1000] [--settle 1.0] [--warmup 20] [--timeout 10]

Reads lucent's VmRSS, opens COUNT client connections to the proxy, sends one
keep-alive absolute-form GET for URL on each and reads the whole response,
keeps all sockets open and idle, waits SETTLE seconds, reads VmRSS again.
A few throw-away connections are made first so one-time allocations
(resolver, first upstream, ...) are not charged to the idle connections.

Prints human-readable lines and one machine-readable line:
  IDLE count=N before_kib=N after_kib=N per_conn_kib=X hwm_kib=N
       closed_by_proxy=N after_close_kib=N
Exit status: 0 ok, 1 a request failed / the proxy misbehaved, 2 usage error.
"""
import argparse
import resource
import select
import socket
import sys
import time
from urllib.parse import urlsplit


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("%s not found in /proc/%d/status" % (field, pid))


def read_response(sock, deadline):
    """Read one HTTP/1.x response (Content-Length or chunked). Returns (status, body_len, keep_alive)."""
    buf = b""

    def more():
        nonlocal buf
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out reading response")
        sock.settimeout(left)
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("proxy closed the connection mid-response (got %d bytes: %r)"
                                  % (len(buf), buf[:200]))
        buf += d

    while b"\r\n\r\n" not in buf:
        more()
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError("bad status line %r" % lines[0])
    status = int(parts[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs.setdefault(k.strip().lower(), v.strip())
    keep = "close" not in hdrs.get("connection", "").lower() and parts[0] == "HTTP/1.1"
    if "chunked" in hdrs.get("transfer-encoding", "").lower():
        total = 0
        while True:
            while b"\r\n" not in buf:
                more()
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                # trailers until empty line
                while True:
                    while b"\r\n" not in buf:
                        more()
                    t, _, buf = buf.partition(b"\r\n")
                    if not t:
                        break
                break
            while len(buf) < size + 2:
                more()
            buf = buf[size + 2:]
            total += size
        body = total
    elif "content-length" in hdrs:
        n = int(hdrs["content-length"])
        while len(buf) < n:
            more()
        buf = buf[n:]
        body = n
    else:
        raise ValueError("response without Content-Length or chunked framing (close-delimited)")
    if buf:
        raise ValueError("%d unexpected extra bytes after the response" % len(buf))
    return status, body, keep


def one(proxy, req, timeout):
    s = socket.create_connection(proxy, timeout=timeout)
    deadline = time.monotonic() + timeout
    s.sendall(req)
    status, body, keep = read_response(s, deadline)
    if status != 200:
        s.close()
        raise ValueError("status %d" % status)
    return s, body, keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--proxy", required=True, help="HOST:PORT of lucent")
    ap.add_argument("--url", required=True, help="absolute URL to request")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()

    host, _, port = a.proxy.rpartition(":")
    proxy = (host.strip("[]"), int(port))
    u = urlsplit(a.url)
    if not u.scheme or not u.netloc:
        print("rss.py: --url must be absolute", file=sys.stderr)
        return 2
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lucent-bench-rss\r\n"
           "Accept: */*\r\nConnection: keep-alive\r\n\r\n" % (a.url, u.netloc)).encode()

    need = a.count + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard) if hard != resource.RLIM_INFINITY else need, hard))
        except (ValueError, OSError) as e:
            print("rss.py: cannot raise RLIMIT_NOFILE to %d: %s" % (need, e), file=sys.stderr)

    # warm-up: a few connections, closed again
    try:
        for _ in range(a.warmup):
            s, _, _ = one(proxy, req, a.timeout)
            s.close()
    except Exception as e:
        print("rss.py: warm-up request failed: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    time.sleep(0.5)

    before = status_kib(a.pid, "VmRSS")
    socks = []
    t0 = time.monotonic()
    not_keepalive = 0
    try:
        for i in range(a.count):
            s, _, keep = one(proxy, req, a.timeout)
            if not keep:
                not_keepalive += 1
            socks.append(s)
    except Exception as e:
        print("rss.py: request on connection #%d failed: %s: %s" % (len(socks) + 1, type(e).__name__, e),
              file=sys.stderr)
        for s in socks:
            s.close()
        return 1
    t_open = time.monotonic() - t0
    time.sleep(a.settle)
    after = status_kib(a.pid, "VmRSS")
    hwm = status_kib(a.pid, "VmHWM")

    # Did the proxy close any of the idle connections? (readable == EOF/unexpected data)
    closed = 0
    for i in range(0, len(socks), 500):
        chunk = socks[i:i + 500]
        p = select.poll()
        for s in chunk:
            p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
        closed += len(p.poll(0))

    for s in socks:
        s.close()
    time.sleep(a.settle)
    after_close = status_kib(a.pid, "VmRSS")

    per = (after - before) / float(a.count)
    print("idle connections: %d opened+requested in %.2fs (%d responses not keep-alive), settle %.1fs"
          % (a.count, t_open, not_keepalive, a.settle))
    print("lucent VmRSS before %d KiB, with %d idle conns %d KiB (+%d KiB), VmHWM %d KiB, after closing %d KiB"
          % (before, a.count, after, after - before, hwm, after_close))
    print("connections closed by the proxy while idle: %d" % closed)
    print("IDLE count=%d before_kib=%d after_kib=%d per_conn_kib=%.2f hwm_kib=%d closed_by_proxy=%d "
          "not_keepalive=%d after_close_kib=%d"
          % (a.count, before, after, per, hwm, closed, not_keepalive, after_close))
    return 0


if __name__ == "__main__":
    sys.exit(main())
