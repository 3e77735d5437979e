"""Helpers shared by the Lua scripting end-to-end tests (test_script_*.py).

  * ``Scripts`` - a short temporary directory for script files (Lua shortens
    long chunk names in messages, so paths are kept short), one lucent
    confdir shared by every lucent a test file starts (the CA is made once),
    and an "emit" file scripts append JSON lines to.
  * ``EMIT`` - a Lua prelude defining ``emit(kind, table)``: appends the table
    (plus ``kind``) as one JSON line to $LUCENT_TEST_OUT, and ``hlist(h)``:
    a headers object as a list of [name, value] in wire order, and ``b64(s)``.
  * ``stderr_match`` / ``wait_stderr`` - regex search in lucent's stderr,
    tolerant of the level word ("error: ", "[error] ") before a message.
"""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLES = os.path.join(REPO, "scripts")

EMIT = r"""
local __out = os.getenv("LUCENT_TEST_OUT")
local function emit(kind, t)
    t = t or {}
    t.kind = kind
    local f = assert(io.open(__out, "a"))
    f:write(lucent.json.encode(t), "\n")
    f:close()
end
local function hlist(h)
    local r = lucent.json.array({})
    for n, v in pairs(h) do
        r[#r + 1] = lucent.json.array({n, v})
    end
    return r
end
local function b64(s)
    if s == nil then
        return nil
    end
    return lucent.base64.encode(s)
end
"""


class Scripts:
    def __init__(self, prefix="lsc-"):
        self.dir = H.mktemp(prefix)
        self.confdir = os.path.join(self.dir, "conf")
        self.n = 0

    def write(self, text, name=None, prelude=True):
        """Writes a script file (with the EMIT prelude unless prelude=False); returns its path."""
        self.n += 1
        name = name or "s%d.lua" % self.n
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write((EMIT if prelude else "") + text)
        os.chmod(path, 0o644)
        return path

    def out_path(self):
        self.n += 1
        return os.path.join(self.dir, "out%d.jsonl" % self.n)

    def lucent(self, scripts, args=(), env=None, workers=1, out=None, **kw):
        """A lucent running the given script files (-s each, in order)."""
        a = []
        for s in scripts if isinstance(scripts, (list, tuple)) else [scripts]:
            a += ["-s", s]
        if workers:
            a += ["--workers", str(workers)]
        a += list(args)
        e = dict(env or {})
        lu_out = out or self.out_path()
        e["LUCENT_TEST_OUT"] = lu_out
        lu = H.Lucent(a, confdir=self.confdir, env=e, **kw)
        lu.out = lu_out
        return lu


def emits(lu, kind=None):
    """The JSON lines the scripts of lu wrote with emit() (optionally one kind)."""
    try:
        with open(lu.out, "rb") as f:
            data = f.read().decode("utf-8")
    except FileNotFoundError:
        return []
    out = []
    for ln in data.split("\n")[:-1]:
        if ln.strip():
            d = json.loads(ln)
            if kind is None or d.get("kind") == kind:
                out.append(d)
    return out


def wait_emits(lu, kind, n=1, timeout=10.0):
    H.wait_until(lambda: len(emits(lu, kind)) >= n, timeout)
    got = emits(lu, kind)
    H.check(len(got) >= n, "expected %d emit(%r) lines, got %d; all: %r\nstderr:\n%s" % (
        n, kind, len(got), emits(lu)[-10:], lu.stderr()[-2000:]))
    return got


HOOK_ERROR_ANY = (r"^lucent: .*script \S+: (?:load|unload|connect|requestheaders|request|responseheaders|"
                  r"response|error|done): ")


def hook_errors(lu):
    """Lines of lucent's stderr reporting an error in a script hook."""
    return [m.group(0) for m in re.finditer(HOOK_ERROR_ANY + ".*$", lu.stderr(), re.M)]


def stderr_match(lu, regex):
    return re.search(regex, lu.stderr(), re.M)


def wait_stderr(lu, regex, timeout=10.0, msg=None):
    m = H.wait_until(lambda: stderr_match(lu, regex), timeout)
    H.check(m, (msg or "no match for %r in lucent's stderr" % regex) + ":\n" + lu.stderr()[-3000:])
    return m


def fname(path):
    """Regex for a script's file name as lucent may print it (path as given or shortened by Lua)."""
    return r"(?:\S*/)?" + re.escape(os.path.basename(path))


LEVEL_ERROR = r"(?:\[error\] |error: )?"
LEVEL_INFO = r"(?:\[info\] |info: )?"


def curl_timed(lu, *args, **kw):
    t0 = time.monotonic()
    r = H.curl(lu, *args, **kw)
    r.elapsed = time.monotonic() - t0
    return r


def head_lines(raw_head):
    """A raw head (bytes) as a list of its lines without the final empty ones."""
    return raw_head.decode("latin-1").split("\r\n")[:-2]
