"""--keylog with a real capture tool: tshark (Debian) records the loopback
traffic of an intercepted HTTPS request, and with lucent's key log it reads
the HTTP inside both TLS connections (client to lucent, lucent to the
origin); without the key log it reads none of it.

Run: python3 tests/e2e/test_keylog_tshark.py --lucent build/lucent
"""

import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq  # noqa: E402

TSHARK = shutil.which("tshark")
SECRET_PATH = "/keylog-lesson-7f3a9"


def handler(c):
    while True:
        req = c.read_request()
        if req is None:
            return
        c.respond(200, "OK", [("Content-Type", "text/plain")], b"the page behind TLS\n")


def setup():
    check(TSHARK, "tshark not installed (Debian package tshark)")
    ctx = H.Ctx()
    ctx.tmp = H.mktemp("lucent-e2e-keylog-")
    ctx.pki = H.TestPKI()
    cert, key = ctx.pki.issue("a.test", ["DNS:a.test"])
    ctx.origin = H.Origin(handler, tls=(cert, key))
    ctx.keylog = os.path.join(ctx.tmp, "keys.log")
    ctx.lucent = H.Lucent(["--upstream-ca", ctx.pki.ca_cert, "--keylog", ctx.keylog])
    return ctx


def teardown(ctx):
    ctx.lucent.stop()
    ctx.origin.stop()


def _tshark(*args, timeout=60):
    p = subprocess.run([TSHARK] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_capture_decrypts_with_the_keylog_only(ctx):
    cap = os.path.join(ctx.tmp, "lesson.pcapng")
    ports = (ctx.lucent.port, ctx.origin.port)
    log = open(os.path.join(ctx.tmp, "tshark.log"), "wb")
    p = H._register_proc(subprocess.Popen(
        [TSHARK, "-i", "lo", "-w", cap, "-f", "tcp port %d or tcp port %d" % ports],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log))
    try:
        # tshark says "Capturing on" once the capture runs
        ok = H.wait_until(lambda: b"Capturing on" in open(log.name, "rb").read(), 20)
        check(ok, "tshark did not start capturing: %r" % open(log.name, "rb").read()[-500:])
        time.sleep(0.3)
        r = H.curl(ctx.lucent, "--cacert", ctx.lucent.ca_cert, "-o", "/dev/null",
                   "-H", "X-Lesson: secret-header", ctx.origin.url(SECRET_PATH))
        eq(r.rc, 0, r.err)
        time.sleep(0.5)
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
        log.close()
    check(os.path.exists(cap) and os.path.getsize(cap) > 0, "no capture written")
    # with lucent's keys: the HTTP inside both TLS connections
    rc, out, err = _tshark("-r", cap, "-o", "tls.keylog_file:" + ctx.keylog, "-Y", "http.request",
                           "-T", "fields", "-e", "http.request.uri", "-e", "http.request.line")
    eq(rc, 0, err)
    uris = [l for l in out.splitlines() if SECRET_PATH in l]
    eq(len(uris), 2, "the request, decrypted on both legs (client to lucent, lucent to origin):\n" + out)
    check("X-Lesson: secret-header" in out, "the header, decrypted:\n" + out)
    # without them: only TLS, the path and header nowhere
    rc, out, err = _tshark("-r", cap, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri")
    eq(rc, 0, err)
    check(SECRET_PATH not in out, "without the keys nothing is readable:\n" + out)
    rc, out, err = _tshark("-r", cap, "-Y", "tls.handshake.extensions_server_name", "-T", "fields",
                           "-e", "tls.handshake.extensions_server_name")
    eq(rc, 0, err)
    check("a.test" in out, "the server name is visible in clear:\n" + out)


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)
