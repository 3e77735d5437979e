"""Command line interface and process lifecycle of lucent.

Covers: --help/-h exits 0 and mentions every option of the contract,
--version exits 0; unknown options, missing values and bad values
(-p 70000, --workers 0, --header-timeout abc, ...) exit with status 2 and a
one-line stderr message naming the option, without starting to listen
(also a bad --ignore-hosts regex and empty --confdir/--upstream-ca); an
unloadable --upstream-ca or unusable --confdir fails at startup; the TLS
options are accepted;
accepted value forms (k/m suffix, decimal seconds, --workers 1/2); the
single "lucent: listening on HOST:PORT" stderr line, preceded by one
"lucent: CA certificate ..." line; default port 8080;
log lines on stdout when stdout is not a TTY even without --headless;
SIGTERM and SIGINT -> exit status 0 with a complete flow log, also with an
open idle keep-alive connection and with a transfer in flight.

Run: python3 tests/e2e/test_cli.py --lucent build/lucent
"""

import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402

OPTIONS = ["-h", "--help", "--version", "--listen-host", "-p", "--listen-port", "--workers", "--headless",
           "--flow-log", "--header-timeout", "--idle-timeout", "--connect-timeout", "--upstream-timeout",
           "--max-header-size", "--max-headers", "-v", "--verbose", "-q", "--quiet",
           "--confdir", "--upstream-ca", "--ssl-insecure", "--ignore-hosts", "--no-auto-ignore"]


def _mentions(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def test_help():
    for flag in ("--help", "-h"):
        rc, out, err = H.run_lucent_cmd([flag])
        eq(rc, 0, "%s exit status (stderr %r)" % (flag, err[-500:]))
        text = out + err
        missing = [o for o in OPTIONS if not _mentions(text, o)]
        eq(missing, [], "%s output lacks options" % flag)
        check("listening on" not in err, "%s must not start the proxy" % flag)


def test_version():
    rc, out, err = H.run_lucent_cmd(["--version"])
    eq(rc, 0, "--version exit status")
    check(re.search(r"\d+\.\d+", out + err), "--version prints a version: %r" % (out + err))
    check("listening on" not in err, "--version must not start the proxy")


BAD = [
    (["--bogus-option"], ["--bogus-option"]),
    (["-Z"], ["-Z", "'Z'"]),
    (["-p", "70000"], ["-p", "--listen-port"]),
    (["--listen-port", "-1"], ["--listen-port", "-p"]),
    (["--listen-port", "80x"], ["--listen-port", "-p"]),
    (["--workers", "0"], ["--workers"]),
    (["--workers", "abc"], ["--workers"]),
    (["--header-timeout", "abc"], ["--header-timeout"]),
    (["--header-timeout", "-1"], ["--header-timeout"]),
    (["--idle-timeout", "1s2"], ["--idle-timeout"]),
    (["--connect-timeout", ""], ["--connect-timeout"]),
    (["--upstream-timeout", "x"], ["--upstream-timeout"]),
    (["--max-header-size", "12q"], ["--max-header-size"]),
    (["--max-headers", "ten"], ["--max-headers"]),
    (["--flow-log"], ["--flow-log"]),
    (["-p"], ["-p", "--listen-port", "'p'"]),
    (["--ignore-hosts", "("], ["--ignore-hosts"]),
    (["--ignore-hosts", "a[b"], ["--ignore-hosts"]),
    (["--ignore-hosts"], ["--ignore-hosts"]),
    (["--confdir"], ["--confdir"]),
    (["--confdir", ""], ["--confdir"]),
    (["--upstream-ca"], ["--upstream-ca"]),
    (["--upstream-ca", ""], ["--upstream-ca"]),
    (["--ssl-insecure=yes"], ["--ssl-insecure"]),
]


def test_bad_arguments_exit_2():
    problems = []
    for args, names in BAD:
        rc, out, err = H.run_lucent_cmd(["--headless"] + args, timeout=5)
        if rc is None:
            problems.append("%r: still running after 5 s (accepted?)" % args)
            continue
        if rc != 2:
            problems.append("%r: exit status %r, want 2 (stderr %r)" % (args, rc, err[-300:]))
        lines = [l for l in err.splitlines() if l.strip()]
        if not lines or not any(_mentions(l, n) for l in lines for n in names):
            problems.append("%r: stderr does not name %s: %r" % (args, " or ".join(names), err[-300:]))
        elif len(lines) > 3:
            problems.append("%r: expected a short message, got %d lines" % (args, len(lines)))
        if "listening on" in err:
            problems.append("%r: started listening despite a bad argument" % (args,))
    check(not problems, "\n  " + "\n  ".join(problems))


def test_flow_log_unwritable_fails():
    rc, out, err = H.run_lucent_cmd(["-p", "0", "--flow-log", "/nonexistent-dir/x/flows.jsonl"], timeout=5)
    check(rc not in (None, 0), "unwritable --flow-log must fail at startup (rc=%r, stderr %r)" % (rc, err[-300:]))
    check(err.strip(), "an error message on stderr")


def test_listening_line_exactly_once():
    lu = H.Lucent(["--workers", "2"])
    try:
        lines = [l for l in lu.stderr().splitlines() if "listening on" in l]
        eq(len(lines), 1, "listening lines with --workers 2: %r" % lines)
        check(H.LISTEN_RE.match(lines[0]), "format: %r" % lines[0])
        check(lu.port > 0, "ephemeral port")
        all_lines = lu.stderr().splitlines()
        ca = [i for i, l in enumerate(all_lines) if H.CA_LINE_RE.match(l)]
        eq(len(ca), 1, "one 'lucent: CA certificate ...' line: %r" % all_lines)
        check(ca[0] < all_lines.index(lines[0]), "the CA line comes before 'listening on': %r" % all_lines)
    finally:
        lu.stop()


def test_upstream_ca_unloadable_fails():
    d = H.mktemp("lucent-e2e-cli-")
    notpem = os.path.join(d, "not-a-ca.pem")
    with open(notpem, "w") as f:
        f.write("this is not a certificate\n")
    for path in (os.path.join(d, "missing.pem"), notpem):
        rc, out, err = H.run_lucent_cmd(["-p", "0", "--headless", "--upstream-ca", path], timeout=5)
        check(rc not in (None, 0), "--upstream-ca %s must fail at startup (rc=%r, stderr %r)" % (path, rc, err[-300:]))
        check("--upstream-ca" in err or path in err, "the message names the option or file: %r" % err[-500:])
        check("listening on" not in err, "must not start listening")


def test_confdir_unusable_fails():
    d = H.mktemp("lucent-e2e-cli-")
    afile = os.path.join(d, "file")
    with open(afile, "w") as f:
        f.write("x")
    for conf in (afile, os.path.join(afile, "sub")):
        rc, out, err = H.run_lucent_cmd(["-p", "0", "--headless", "--confdir", conf], timeout=5)
        check(rc not in (None, 0), "--confdir %s must fail (rc=%r, stderr %r)" % (conf, rc, err[-300:]))
        check(err.strip(), "an error message on stderr")
        check("listening on" not in err, "must not start listening")
    with open(afile) as f:
        eq(f.read(), "x", "a file given as --confdir is left alone")


def test_tls_options_accepted():
    n = H.Nginx()
    d = H.mktemp("lucent-e2e-cli-")
    pki = H.TestPKI("lucent e2e cli CA")
    for args in (["--ssl-insecure"], ["--no-auto-ignore"], ["--upstream-ca", pki.ca_cert],
                 ["--ignore-hosts", r"^a\.test:", "--ignore-hosts", "b.test"],
                 ["--confdir", os.path.join(d, "c1")], ["--confdir=" + os.path.join(d, "c2")]):
        lu = H.Lucent(args)
        try:
            r = H.curl(lu, "-o", "-", n.url("/hello.txt"))
            eq(r.out, H.HELLO_TXT, "with %r" % args)
            check(os.path.isfile(lu.ca_path()), "CA in %s with %r" % (lu.confdir, args))
        finally:
            lu.stop()
    check(os.path.isfile(os.path.join(d, "c2", H.CA_KEY_FILE)), "--confdir=DIR form")
    n.stop()


def test_default_port_8080():
    n = H.Nginx()
    lu = H.Lucent(port0=False)
    try:
        eq(lu.port, 8080)
        eq(lu.host, "127.0.0.1")
        r = H.curl("http://127.0.0.1:8080", "-o", "-", n.url("/hello.txt"))
        eq(r.out, H.HELLO_TXT)
    finally:
        lu.stop()
        n.stop()


def test_port_in_use_fails():
    lu = H.Lucent()
    try:
        rc, out, err = H.run_lucent_cmd(["-p", str(lu.port), "--headless"], timeout=5)
        check(rc not in (None, 0), "binding a port in use must fail (rc=%r)" % rc)
        check(err.strip(), "an error message on stderr")
    finally:
        lu.stop()


def test_accepted_value_forms():
    n = H.Nginx()
    for args in (["--max-header-size", "8k"], ["--max-header-size", "1m"], ["--header-timeout", "0.75"],
                 ["--idle-timeout", "2.5", "--connect-timeout", "3", "--upstream-timeout", "4.5"],
                 ["--workers", "1"], ["--workers", "2"], ["--max-headers", "50"], ["-q"], ["-v"],
                 ["--listen-port", "0", "--listen-host", "127.0.0.1"]):
        lu = H.Lucent(args)
        try:
            r = H.curl(lu, "-o", "-", n.url("/hello.txt"))
            eq(r.out, H.HELLO_TXT, "with %r" % args)
        finally:
            lu.stop()
    n.stop()


def test_parallel_connections_workers_2():
    # with --workers 2, eight simultaneous client connections are all served
    n = H.Nginx()
    lu = H.Lucent(["--workers", "2"])
    try:
        clients = [H.RawClient(lu.port) for _ in range(8)]
        for c in clients:
            c.send(H.get_request("a.test:%d" % n.port, "/1k.bin"))
        for c in clients:
            m = c.response()
            eq(m.body, n.files["1k.bin"])
            c.close()
    finally:
        lu.stop()
        n.stop()


def test_stdout_not_tty_logs_without_headless():
    n = H.Nginx()
    lu = H.Lucent(headless=False)
    try:
        url = n.url("/hello.txt")
        H.curl(lu, "-o", "/dev/null", url)
        line = lu.wait_stdout(re.escape(url), 5)
        check(line, "no log line on non-TTY stdout without --headless: %r" % lu.stdout()[-1000:])
    finally:
        lu.stop()
        n.stop()


def _sig_test(sig):
    n = H.Nginx()
    lu = H.Lucent()
    try:
        for i in range(5):
            r = H.curl(lu, "-o", "/dev/null", n.url("/hello.txt?i=%d" % i))
            eq(r.rc, 0, r.err)
    finally:
        lu.stop(sig)
        n.stop()
    eq(lu.returncode, 0)
    text = lu.flow_text()
    check(text.endswith("\n"), "flow log ends with a newline")
    flows = lu.flows()
    eq(sorted(f["url"] for f in flows), sorted(n.url("/hello.txt?i=%d" % i) for i in range(5)),
       "all flows recorded")
    eq(len(lu.stdout_lines()), 5, "stdout log lines")


def test_sigterm_exit_0_flow_log_complete():
    _sig_test(signal.SIGTERM)


def test_sigint_exit_0():
    _sig_test(signal.SIGINT)


def test_sigterm_with_idle_keepalive_connection():
    n = H.Nginx()
    lu = H.Lucent()
    c = None
    try:
        c = H.RawClient(lu.port)
        eq(c.request(H.get_request("a.test:%d" % n.port, "/hello.txt")).status, 200)
        t0 = time.monotonic()
        lu.stop(signal.SIGTERM, timeout=10)
        check(time.monotonic() - t0 < 10, "shutdown took too long")
        eq(len(lu.flows()), 1)
    finally:
        if c:
            c.close()
        n.stop()


def test_sigterm_during_transfer():
    # origin dribbles a body slowly; SIGTERM mid-transfer must still exit 0
    def h(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)
        time.sleep(20)
    o = H.Origin(h)
    lu = H.Lucent()
    c = H.RawClient(lu.port)
    try:
        c.send(H.get_request(o.authority(), "/slow"))
        try:
            c.reader.read_until(b"\r\n\r\n")
        except OSError:
            raise AssertionError("response head not streamed to the client while the body is incomplete")
        lu.stop(signal.SIGTERM, timeout=10)
        text = lu.flow_text()
        check(text == "" or text.endswith("\n"), "flow log has a partial line: %r" % text[-200:])
        lu.flows()
    finally:
        c.close()
        o.stop()


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()))
