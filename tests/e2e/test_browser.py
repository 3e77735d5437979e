"""A real browser through lucent: headless Chromium loads a page via the proxy.

Covers: `chromium --headless --proxy-server=http://127.0.0.1:PORT --dump-dom
http://a.test:NGINXPORT/index.html` returns the page DOM (marker text
present) and lucent's flow log records the GET with status 200.  Chromium is
installed with apt-get (before entering the network namespace) when missing;
if it cannot be installed the test FAILS (it never skips).

Run: python3 tests/e2e/test_browser.py --lucent build/lucent
"""

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402

CHROMIUM_ERR_ENV = "LUCENT_E2E_CHROMIUM_ERROR"


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


def setup():
    ctx = H.Ctx()
    ctx.nginx = H.Nginx()
    ctx.lucent = H.Lucent()
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


def _run_chromium(ctx, url):
    exe = chromium_binary()
    check(exe, "chromium is not available: %s" % os.environ.get(CHROMIUM_ERR_ENV, "not installed"))
    udd = H.mktemp("lucent-e2e-chromium-")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--disable-extensions", "--no-default-browser-check",
           "--user-data-dir=" + udd, "--proxy-server=http://127.0.0.1:%d" % ctx.lucent.port,
           "--dump-dom", url]
    env = dict(os.environ, HOME=udd)
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


if __name__ == "__main__":
    if not H.isolated():
        ensure_chromium()
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)
