"""A real browser through lucent: headless Chromium loads a page via the proxy.

Covers: `chromium --headless --proxy-server=http://127.0.0.1:PORT --dump-dom
http://a.test:NGINXPORT/index.html` returns the page DOM (marker text
present) and lucent's flow log records the GET with status 200; the same
over HTTPS (https://a.test:TLSPORT/index.html, origin certificate from a test
CA given to lucent with --upstream-ca) with lucent's CA trusted in the NSS
database of a private HOME ($HOME/.pki/nssdb, made with certutil): the page
loads through interception and the flow log records the https GET with
tls true; without lucent's CA in the NSS database the page does not load
and lucent records tls-client-rejected.  Chromium and certutil
(libnss3-tools) are installed with apt-get (before entering the network
namespace) when missing; if they cannot be installed the test FAILS (it
never skips).

Run: python3 tests/e2e/test_browser.py --lucent build/lucent
"""

import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402

CHROMIUM_ERR_ENV = "LUCENT_E2E_CHROMIUM_ERROR"
CERTUTIL_ERR_ENV = "LUCENT_E2E_CERTUTIL_ERROR"


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def ensure_chromium():
    """Runs outside the namespaces (network needed for apt-get)."""
    if chromium_binary():
        return
    msg = ""
    try:
        r = subprocess.run(["apt-get", "install", "-y", "chromium"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if r.returncode != 0:
            msg = "apt-get install -y chromium failed (%d): %s" % (r.returncode, r.stdout.decode(errors="replace")[-1500:])
    except Exception as e:  # noqa
        msg = "apt-get install -y chromium failed: %r" % e
    if not chromium_binary():
        os.environ[CHROMIUM_ERR_ENV] = msg or "chromium not found after apt-get install"


def ensure_certutil():
    """Runs outside the namespaces (network needed for apt-get)."""
    if shutil.which("certutil"):
        return
    msg = ""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for pre in ([], [["apt-get", "update"]]):      # retry once with fresh package lists
        try:
            for cmd in pre:
                subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=300, env=env)
            r = subprocess.run(["apt-get", "install", "-y", "libnss3-tools"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600, env=env)
            if r.returncode == 0:
                break
            msg = "apt-get install -y libnss3-tools failed (%d): %s" % (
                r.returncode, r.stdout.decode(errors="replace")[-1500:])
        except Exception as e:  # noqa
            msg = "apt-get install -y libnss3-tools failed: %r" % e
    if not shutil.which("certutil"):
        os.environ[CERTUTIL_ERR_ENV] = msg or "certutil not found after apt-get install -y libnss3-tools"


def setup():
    ctx = H.Ctx()
    ctx.pki = H.TestPKI("lucent e2e browser CA")
    ctx.nginx = H.Nginx(tls=ctx.pki.issue("a.test", ["DNS:a.test"]))
    ctx.lucent = H.Lucent(["--upstream-ca", ctx.pki.ca_cert])
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


def _run_chromium(ctx, url, home=None):
    exe = chromium_binary()
    check(exe, "chromium is not available: %s" % os.environ.get(CHROMIUM_ERR_ENV, "not installed"))
    udd = H.mktemp("lucent-e2e-chromium-")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--disable-extensions", "--no-default-browser-check",
           "--user-data-dir=" + udd, "--proxy-server=http://127.0.0.1:%d" % ctx.lucent.port,
           "--dump-dom", url]
    env = dict(os.environ, HOME=home or udd)
    p = H._register_proc(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=env, start_new_session=True))
    try:
        out, err = p.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        # chromium spawns helpers in its own session: kill that process group (ours)
        try:
            os.killpg(p.pid, 9)
        except OSError:
            p.kill()
        out, err = p.communicate(timeout=10)
        raise AssertionError("chromium did not finish within 45 s; stderr:\n%s" % err.decode(errors="replace")[-2000:])
    finally:
        try:
            os.killpg(p.pid, 9)     # leftover helpers of our own chromium
        except OSError:
            pass
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def test_chromium_dump_dom(ctx):
    url = ctx.nginx.url("/index.html")
    rc, dom, err = _run_chromium(ctx, url)
    contains(dom, H.INDEX_MARKER, "DOM of %s via lucent (chromium rc=%r, stderr tail: %s)" % (url, rc, err[-1500:]))
    contains(dom, "<h1", "DOM")
    f = ctx.lucent.wait_flow(lambda f: f.get("method") == "GET" and f.get("url") == url, 10)
    check(f, "flow log has no GET %s:\n%s" % (url, ctx.lucent.flow_text()[-3000:]))
    eq(f["status"], 200)
    eq(f["error"], None)
    names = [h[0].lower() for h in f["request_headers"]]
    check("user-agent" in names and "host" in names, "browser request headers: %r" % f["request_headers"])
    ua = [v for k, v in f["request_headers"] if k.lower() == "user-agent"][0]
    contains(ua, "Chrome", "User-Agent of the browser request")
    check(H.wait_until(lambda: "GET /index.html HTTP/1.1" in ctx.nginx.access_log(), 5),
          "nginx did not see the browser request")


def _nss_home(trust_lucent_ca, ca_cert):
    """A HOME whose NSS database (what Chromium on Linux trusts besides its
    built-in roots) holds lucent's CA, or nothing."""
    certutil = shutil.which("certutil")
    check(certutil, "certutil is not available: %s" % os.environ.get(CERTUTIL_ERR_ENV, "not installed"))
    home = H.private_home()
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db)
    cmds = [[certutil, "-d", "sql:" + db, "-N", "--empty-password"]]
    if trust_lucent_ca:
        cmds.append([certutil, "-d", "sql:" + db, "-A", "-t", "C,,", "-n", "lucent", "-i", ca_cert])
    cmds.append([certutil, "-d", "sql:" + db, "-L"])
    out = ""
    for cmd in cmds:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30, env=dict(os.environ, HOME=home))
        out = r.stdout.decode(errors="replace")
        eq(r.returncode, 0, "%s: %s" % (" ".join(cmd), out[-1000:]))
    if trust_lucent_ca:
        check(re.search(r"^lucent\s+C,,", out, re.M), "lucent's CA listed as trusted: %r" % out)
    return home


def test_chromium_https_intercepted(ctx):
    home = _nss_home(True, ctx.lucent.ca_cert)
    url = "https://a.test:%d/index.html" % ctx.nginx.tls_port
    rc, dom, err = _run_chromium(ctx, url, home=home)
    contains(dom, H.INDEX_MARKER, "DOM of %s via lucent (chromium rc=%r, stderr tail: %s; flows: %s)"
             % (url, rc, err[-1500:], ctx.lucent.flow_text()[-1500:]))
    f = ctx.lucent.wait_flow(lambda f: f.get("method") == "GET" and f.get("url") == url, 10)
    check(f, "flow log has no GET %s:\n%s" % (url, ctx.lucent.flow_text()[-3000:]))
    eq(f["status"], 200)
    eq(f["tls"], True)
    eq(f["sni"], "a.test")
    eq(f["error"], None)
    check((f["tls_client"] or "").startswith("TLSv1."), "tls_client %r" % f["tls_client"])
    ua = [v for k, v in f["request_headers"] if k.lower() == "user-agent"]
    check(ua and "Chrome" in ua[0], "browser User-Agent inside TLS: %r" % f["request_headers"])


def test_chromium_https_without_trust_is_rejected():
    # a fresh lucent: the rejection would otherwise switch the shared one to passthrough
    pki = H.TestPKI("lucent e2e browser CA 2")
    n = H.Nginx(tls=pki.issue("a.test", ["DNS:a.test"]))
    lu = H.Lucent(["--upstream-ca", pki.ca_cert])
    try:
        home = _nss_home(False, lu.ca_cert)
        c = H.Ctx(lucent=lu)
        url = "https://a.test:%d/index.html" % n.tls_port
        rc, dom, err = _run_chromium(c, url, home=home)
        check(H.INDEX_MARKER not in dom, "the page must not load when lucent's CA is not trusted")
        f = lu.wait_flow(lambda f: f.get("method") == "CONNECT" and
                         (f.get("error") or "").startswith("tls-client-rejected:"), 10)
        check(f, "no tls-client-rejected CONNECT record:\n%s" % lu.flow_text()[-3000:])
        eq(f["url"], "a.test:%d" % n.tls_port)
        check(not [x for x in lu.flows() if x.get("url") == url and x.get("status") == 200],
              "no successful https GET")
    finally:
        lu.stop()
        n.stop()


if __name__ == "__main__":
    if not H.isolated():
        ensure_chromium()
        ensure_certutil()
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)
