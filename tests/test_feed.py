#!/usr/bin/env python3
"""test_feed: API tokens, the change feed and the full export, end to end.

Usage: test_feed.py COACHQD COACHQ CERTS_SCRIPT

Runs the real coachqd (a demo organisation in a temporary LMDB, TLS on
127.0.0.1 port 0) and drives it with HTTPS requests, the coachqd token
verbs, the coachq client and LMDB's mdb_stat. What it checks, each rule by
trying to break it:

- tokens: a second-level manager's token sees only their line (feed and a
  JSON dashboard); a front-line manager's token cannot read another line;
  revoked tokens and a disabled user's token get 401; a token on an HTML
  page, on a POST, forged, truncated, or in the query string is refused;
  failures count against the address's sign-in budget (429);
- feed: every record once, in sequence order, resumable (paged and after a
  consumer killed mid-stream); CSV and NDJSON carry the same rows; after=
  garbage, negative or huge gets a 400 naming the parameter; a long poll is
  woken by a commit; a slow reader gets the whole answer although it is
  many times the connection's write cap (backpressure), pins no LMDB read
  transaction while it stalls, and does not hold up a writer;
- export: `coachq export observations` gives the feed's rows to a lead and
  refuses a manager; the token verbs' usage errors and the audit log.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SLOW_WRITE_HIGH = 32768
SLOW_WRITE_MAX = 131072
BULK = 6000
# ctest says so for a sanitizer build (COACHQ_TEST_SCALE > 1).
SANITIZED = int(os.environ.get("COACHQ_WATCHDOG_SCALE", "1")) > 1


class Fail(Exception):
    pass


T0 = time.monotonic()


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("ok - %s  # %.1fs" % (what, time.monotonic() - T0), flush=True)


class Env:
    def __init__(self, coachqd, coachq, certs_script):
        self.coachqd = coachqd
        self.coachq = coachq
        self.certs_script = certs_script
        self.tmp = tempfile.mkdtemp(prefix="coachq-feed-")
        self.data = os.path.join(self.tmp, "data")
        self.certs = os.path.join(self.tmp, "certs")
        self.proc = None
        self.port = None
        self.dport = None
        self.ctx = None

    def run(self, args, expect=0, stdin=None):
        p = subprocess.run(args, capture_output=True, text=True, input=stdin, timeout=120)
        if expect is not None and p.returncode != expect:
            raise Fail("%s exited %d (expected %d): %s" % (" ".join(args), p.returncode,
                                                           expect, p.stderr.strip()))
        return p

    def admin(self, *args, expect=0):
        return self.run([self.coachqd] + list(args) + ["--data", self.data], expect)

    def setup(self):
        self.run([self.certs_script, "--dir", self.certs, "ca"])
        self.run([self.certs_script, "--dir", self.certs, "server"])
        for u in ("lead.amara", "slm.east", "obs.silva"):
            self.run([self.certs_script, "--dir", self.certs, "user", u])
        self.admin("demo")
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))

    def start(self):
        pf = os.path.join(self.tmp, "port")
        dpf = os.path.join(self.tmp, "dport")
        for f in (pf, dpf):
            if os.path.exists(f):
                os.unlink(f)
        self.log = open(os.path.join(self.tmp, "server.log"), "a")
        self.proc = subprocess.Popen(
            [self.coachqd, "--data", self.data, "--listen", "127.0.0.1:0",
             "--cert", os.path.join(self.certs, "server.crt"),
             "--key", os.path.join(self.certs, "server.key"),
             "--ca", os.path.join(self.certs, "ca.crt"), "--port-file", pf,
             "--dashboard", "127.0.0.1:0", "--dashboard-port-file", dpf,
             "--write-high", str(SLOW_WRITE_HIGH), "--write-max", str(SLOW_WRITE_MAX)],
            stdout=self.log, stderr=self.log)
        for _ in range(200):
            if os.path.exists(pf) and os.path.exists(dpf) and open(dpf).read().strip():
                break
            if self.proc.poll() is not None:
                raise Fail("coachqd exited at start: see " + self.log.name)
            time.sleep(0.05)
        self.port = int(open(pf).read())
        self.dport = int(open(dpf).read())

    def stop(self):
        """Stops coachqd with SIGTERM; returns its exit status (None: none ran)."""
        rc = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = -9
        elif self.proc is not None:
            rc = self.proc.returncode
        self.proc = None
        return rc

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def https(self, path, token=None, method="GET", headers=None, body=None, timeout=60):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        c = http.client.HTTPSConnection("127.0.0.1", self.dport, context=self.ctx,
                                        timeout=timeout)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def token(self, user, name="test"):
        return self.admin("token", "create", user, "--name", name).stdout.strip()

    def client(self, user, *args, expect=0):
        return self.run([self.coachq] + list(args) + [
            "--server", "127.0.0.1:%d" % self.port,
            "--cert", os.path.join(self.certs, "users", user + ".crt"),
            "--key", os.path.join(self.certs, "users", user + ".key"),
            "--ca", os.path.join(self.certs, "ca.crt"),
            "--data-dir", os.path.join(self.tmp, "client-" + user)], expect)


def lines_of(body):
    return [json.loads(l) for l in body.decode().splitlines() if l]


def feed(env, token, after=0, extra="", accept=None):
    headers = {"Accept": accept} if accept else None
    st, _, body = env.https("/api/v1/feed/observations?after=%d%s" % (after, extra), token,
                            headers=headers)
    if st != 200:
        raise Fail("feed after=%d: %d %s" % (after, st, body[:200]))
    return body


def line_managers(env):
    """Front-line manager id -> today's manager, from `coachqd user list`."""
    out = {}
    for l in env.admin("user", "list").stdout.splitlines():
        f = l.split()
        if f and f[0].startswith("flm.") and f[-1] == "front_line_manager":
            out[f[0]] = f[-2]
    return out


def new_session(template):
    """A copy of template as a new session: its agreed actions are new ones
    (no id, no due date that could fall before the new session) and it
    follows nothing up."""
    o = dict(template)
    o.pop("id", None)
    o.pop("markers", None)
    o.pop("follow_ups", None)
    if "actions" in o:
        o["actions"] = [{k: v for k, v in a.items() if k not in ("id", "due")}
                        for a in o["actions"]]
    return o


def submit_bulk(env, template, n):
    """Submits n copies of template as sessions a minute apart, in one file."""
    now = time.time() - 7200
    recs = []
    for i in range(n):
        o = new_session(template)
        o["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60 * i))
        recs.append(o)
    path = os.path.join(env.tmp, "bulk.json")
    with open(path, "w") as f:
        json.dump(recs, f)
    out = env.client("obs.silva", "submit", path).stdout
    check("stored=%d " % n in out, "%d more observations stored" % n)


def submit_new(env, template):
    """Submits a copy of template (an observation's JSON) as a new session."""
    o = new_session(template)
    o["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7200))
    path = os.path.join(env.tmp, "new-%d.json" % time.monotonic_ns())
    with open(path, "w") as f:
        json.dump(o, f)
    out = env.client("obs.silva", "submit", path).stdout
    check("STORED" in out, "a new observation is stored (%s)" % out.split("\n")[0])


def test_tokens(env, toks, all_lines):
    mgr = line_managers(env)
    east = {f for f, m in mgr.items() if m == "slm.east"}
    # The second-level manager's line: their front-line managers' sessions,
    # and their own sessions coaching those managers (coaching the coach),
    # never a calibration attempt.
    mine = lines_of(feed(env, toks["slm"]))
    seen = east | {"slm.east"}
    expected = [l for l in all_lines if l["coach_id"] in seen and l["calibration_ref"] is None]
    check(len(mine) > 0 and all(l["coach_id"] in seen for l in mine),
          "a second-level manager's token reads only their line and their own coaching "
          "(%d records)" % len(mine))
    check([l["seq"] for l in mine] == [l["seq"] for l in expected],
          "... and every record of it")
    # My managers and Manager detail as a whole (every table of the line,
    # with the coaching mix, the team results, the actions and focus
    # progress) are larger than one answer of this server, whose write cap
    # is kept small for the slow reader below (a page is at most half of
    # --write-max): the token reads a manager's My coaching as JSON and My
    # managers' own table as CSV.
    flm = sorted(east)[0]
    st, _, body = env.https("/api/v1/dashboards/me/%s" % flm, toks["slm"])
    check(st == 200 and json.loads(body)["subject_id"] == flm,
          "the token reads a JSON dashboard of their line (%d bytes)" % len(body))
    st, h, body = env.https("/api/v1/dashboards/managers/slm.east/tables/managers.csv", toks["slm"])
    check(st == 200 and h.get("Content-Type", "").startswith("text/csv")
          and body.startswith(b"Manager,"), "the token reads their own dashboard's table as CSV")
    st, _, _ = env.https("/api/v1/dashboards/managers/slm.west", toks["slm"])
    check(st == 404, "not another second-level manager's dashboard (404)")
    other = sorted(f for f, m in mgr.items() if m != "slm.east")[0]
    st, _, _ = env.https("/api/v1/dashboards/manager/%s" % other, toks["slm"])
    check(st == 404, "not a front-line manager of another line (404)")
    st, h, body = env.https("/api/v1/dashboards/managers/tables/managers.csv", toks["slm"])
    check(st in (200, 404) and (st == 404 or h.get("Content-Type", "").startswith("text/csv")),
          "a table as CSV answers as for a session (%d)" % st)

    flm = sorted(east)[0]
    mine = lines_of(feed(env, toks["flm"]))
    check(all(l["coach_id"] == flm or (l["coachee_id"] == flm and l["coach_id"] == "slm.east")
              for l in mine),
          "a front-line manager's token reads only their own sessions and the reviews of "
          "their coaching (%d)" % len(mine))
    st, _, _ = env.https("/api/v1/dashboards/manager/%s" % other, toks["flm"])
    check(st == 404, "a front-line manager's token cannot read another line's dashboard")
    # Their own Manager detail, one table of it: the whole page is larger
    # than this server's small write cap allows (see above).
    st, h, body = env.https("/api/v1/dashboards/manager/%s/tables/open-actions.csv" % flm,
                            toks["flm"])
    check(st == 200 and body.startswith(b"Rep,"), "... and reads their own")

    # Refusals.
    st, _, _ = env.https("/d/managers", toks["slm"])
    check(st == 401, "a token on an HTML page is refused (401)")
    st, _, _ = env.https("/", toks["slm"])
    check(st == 401, "a token on / is refused (401)")
    st, _, _ = env.https("/signout", toks["slm"], method="POST", body="csrf=x",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(st == 401, "a token on a POST is refused (401)")
    st, _, _ = env.https("/api/v1/feed/observations", toks["slm"], method="POST", body="")
    check(st == 401, "a token on a POST to the API is refused (401)")
    t = toks["slm"]
    forged = t[:10] + ("A" if t[10] != "A" else "B") + t[11:]
    st, _, _ = env.https("/api/v1/feed/observations", forged)
    check(st == 401, "a forged token gets 401")
    st, _, _ = env.https("/api/v1/feed/observations", t[:-1])
    check(st == 401, "a truncated token gets 401")
    st, _, _ = env.https("/api/v1/dashboards/managers", None,
                         headers={"Authorization": "Basic " + t})
    check(st == 401, "another scheme gets 401")
    st, _, body = env.https("/api/v1/feed/observations?access_token=" + t)
    check(st == 400 and json.loads(body).get("field") == "query",
          "a token in the query string is refused (400)")
    st, _, _ = env.https("/api/v1/feed/observations?after=0&x=" + t, t)
    check(st == 400, "... even beside a good header")

    env.admin("token", "revoke", toks["revoke_id"])
    st, _, _ = env.https("/api/v1/feed/observations", toks["revoke"])
    check(st == 401, "a revoked token gets 401 on the feed")
    st, _, _ = env.https("/api/v1/dashboards/managers", toks["revoke"])
    check(st == 401, "... and on a dashboard")
    env.admin("user", "disable", "slm.west")
    st, _, _ = env.https("/api/v1/feed/observations", toks["disabled"])
    check(st == 401, "a disabled user's token gets 401")
    env.admin("user", "enable", "slm.west")
    st, _, _ = env.https("/api/v1/feed/observations?limit=1", toks["disabled"])
    check(st == 200, "... and works again once the user is enabled")


def test_feed_params(env, tok):
    for v in ("abc", "-1", "99999999999999999999", "9223372036854775808", "1.5", "", "0x10"):
        st, _, body = env.https("/api/v1/feed/observations?after=" + v, tok)
        check(st == 400 and json.loads(body).get("field") == "after",
              "after=%r gets a 400 naming after" % v)
    st, _, body = env.https("/api/v1/feed/observations?after=9223372036854775807", tok)
    check(st == 200 and body == b"", "after= the largest sequence number is empty, not an error")
    for q, field in (("limit=0", "limit"), ("limit=x", "limit"), ("wait=61", "wait"),
                     ("wait=-1", "wait")):
        st, _, body = env.https("/api/v1/feed/observations?" + q, tok)
        check(st == 400 and json.loads(body).get("field") == field,
              "%s gets a 400 naming %s" % (q, field))


def test_resume(env, tok, all_lines):
    seqs = [l["seq"] for l in all_lines]
    check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[-1] == len(seqs),
          "the lead's feed holds every record once, in sequence order (%d)" % len(seqs))
    got, after = [], 0
    while True:
        page = lines_of(feed(env, tok, after, "&limit=97"))
        if not page:
            break
        got += page
        after = page[-1]["seq"]
    check(got == all_lines, "paging with limit= and after= gives the same records")

    # A consumer killed mid-stream: the connection is cut after some bytes;
    # it resumes from the last whole line it kept.
    kept, after, cuts = [], 0, 0
    while True:
        raw = socket.create_connection(("127.0.0.1", env.dport))
        s = env.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(("GET /api/v1/feed/observations?after=%d HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (after, tok)).encode())
        buf = b""
        while len(buf) < 200000:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        head, _, body = buf.partition(b"\r\n\r\n")
        check(b"Transfer-Encoding: chunked" in head, "the feed is chunked") if cuts == 0 else None
        # De-chunk what arrived; the last piece may be cut anywhere.
        text, rest = b"", body
        while rest:
            size_line, sep, rest = rest.partition(b"\r\n")
            if not sep:
                break
            n = int(size_line, 16)
            if n == 0 or len(rest) < n:
                text += rest[:n] if n else b""
                break
            text += rest[:n]
            rest = rest[n + 2:]
        whole = text.split(b"\n")[:-1]  # the last piece is cut
        page = [json.loads(l) for l in whole]
        if not page:
            break
        kept += page
        after = page[-1]["seq"]
        cuts += 1
        if after == all_lines[-1]["seq"]:
            break
    check(cuts >= 2 and kept == all_lines,
          "a consumer killed mid-stream %d times and resumed gets every record once, in order"
          % cuts)


def test_csv(env, tok, all_lines):
    body = feed(env, tok, accept="text/csv").decode()
    rows = body.split("\n")
    check(rows[0].startswith("seq,id,root_id,version,superseded,"), "CSV starts with its header")
    import csv
    import io
    recs = list(csv.reader(io.StringIO(body)))
    check(len(recs) - 1 == len(all_lines) and
          [int(r[0]) for r in recs[1:]] == [l["seq"] for l in all_lines],
          "CSV and NDJSON carry the same records (%d)" % len(all_lines))
    hdr = recs[0]
    i = hdr.index("ratings")
    check(json.loads(recs[1][i]) == all_lines[0]["ratings"], "ratings are the same JSON in CSV")


def test_long_poll(env, tok, template):
    head = lines_of(feed(env, tok))[-1]["seq"]
    st, _, body = env.https("/api/v1/feed/observations?after=%d&wait=1" % head, tok)
    check(st == 200 and body == b"", "a long poll with nothing new ends empty after its wait")
    result = {}

    def poll():
        result["r"] = env.https("/api/v1/feed/observations?after=%d&wait=60" % head, tok,
                                timeout=90)

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(1.0)
    check(th.is_alive(), "a long poll waits while nothing is committed")
    submit_new(env, template)
    th.join(90)
    st, _, body = result["r"]
    got = lines_of(body)
    check(st == 200 and [l["seq"] for l in got] == [head + 1],
          "the commit wakes the long poll, which returns the new record")


def rss_kib(pid):
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
    return 0


def test_slow_reader(env, tok, all_lines, template):
    total = len(feed(env, tok))
    check(total > 8 * 1024 * 1024 and total > 50 * SLOW_WRITE_MAX,
          "the answer (%d bytes) is many times the connection's write cap (%d) and more than "
          "the kernel's socket buffers" % (total, SLOW_WRITE_MAX))
    before = rss_kib(env.proc.pid)
    socks = []
    for _ in range(6):
        raw = socket.create_connection(("127.0.0.1", env.dport))
        s = env.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(("GET /api/v1/feed/observations HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % tok).encode())
        s.recv(1)
        socks.append(s)
    # Each reader's first pages are built (under a read transaction, on
    # the thread pool) until its connection's write cap is full; then it
    # stalls holding none. How long the builds take depends on the machine
    # (a sanitizer build under load takes seconds), so wait for the state
    # rather than a fixed time, then check that it stays.
    deadline = time.monotonic() + 60
    readers = ""
    while time.monotonic() < deadline:
        time.sleep(0.5)
        readers = env.run(["mdb_stat", "-r", env.data], expect=None).stdout
        if "(no active readers)" in readers:
            time.sleep(1.0)
            readers = env.run(["mdb_stat", "-r", env.data], expect=None).stdout
            break
    stalled = rss_kib(env.proc.pid)
    check("(no active readers)" in readers,
          "six stalled readers pin no LMDB read transaction (mdb_stat -r)")
    submit_new(env, template)
    print("# server RSS %d KiB before, %d KiB with six stalled readers" % (before, stalled))
    if SANITIZED:
        # AddressSanitizer's quarantine and shadow memory make RSS say
        # nothing of the server's own; the whole answer arriving below
        # the write cap (next) still shows the backpressure.
        print("# sanitizer build: the memory bound is not checked")
    else:
        check(stalled - before < 16 * 1024, "six stalled readers hold %d KiB more, under 16 MiB"
              % (stalled - before))
    # Now read one slowly to the end: it gets the whole answer.
    s = socks[0]
    buf = b""
    s.settimeout(60)
    parts = []
    tail = b""
    n = 0
    while not tail.endswith(b"\r\n0\r\n\r\n"):
        d = s.recv(65536)
        if not d:
            break
        parts.append(d)
        tail = (tail + d)[-16:]
        n += 1
        if n % 16 == 0:
            time.sleep(0.01)
    buf = b"".join(parts)
    for x in socks:
        x.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    text, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        n = int(size_line, 16)
        if n == 0:
            break
        text += rest[:n]
        rest = rest[n + 2:]
    got = [json.loads(l)["seq"] for l in text.split(b"\n") if l]
    check(got[:len(all_lines)] == [l["seq"] for l in all_lines],
          "the slow reader got the whole feed, in order (%d records)" % len(got))


def test_export(env, tok_lead):
    out = os.path.join(env.tmp, "export.csv")
    env.client("lead.amara", "export", "observations", "--format", "csv", "-o", out)
    check(open(out, "rb").read() == feed(env, tok_lead, accept="text/csv"),
          "coachq export observations --format csv is the feed's CSV")
    nd = env.client("lead.amara", "export", "observations", "--format", "ndjson",
                    "--after", "10").stdout.encode()
    check(nd == feed(env, tok_lead, 10), "--format ndjson --after 10 is the feed after 10")
    since = env.client("lead.amara", "export", "observations", "--format", "ndjson",
                       "--since", "2026-01-01").stdout
    check(all(json.loads(l)["started_at"] >= "2026-01-01" for l in since.splitlines()),
          "--since keeps sessions from that date on")
    p = env.client("slm.east", "export", "observations", "--format", "csv", expect=1)
    check("PERMISSION_DENIED" in p.stderr, "a manager may not export everything (exit 1)")
    env.client("lead.amara", "export", "observations", expect=2)
    env.client("lead.amara", "export", "observations", "--format", "xml", expect=2)
    env.client("lead.amara", "export", "observations", "--format", "csv", "--after", "-3",
               expect=2)
    check(True, "export usage errors exit 2")


def test_session_day_zone(env, tok_lead):
    """session_day is the session's date in its coach's time zone, in the feed
    and the export alike (checked against Python's zoneinfo)."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo
    zone = "Pacific/Kiritimati"  # UTC+14: most sessions move to the next day
    env.admin("org", "--time-zone", zone)
    rows = lines_of(feed(env, tok_lead))
    moved = 0
    for r in rows:
        start = datetime.strptime(r["started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=timezone.utc)
        local = start.astimezone(ZoneInfo(zone)).date().isoformat()
        check(r["session_day"] == local, "feed seq %d: session_day %s is the %s date %s"
              % (r["seq"], r["session_day"], zone, local))
        moved += local != start.date().isoformat()
    check(moved > 0, "some sessions (%d) fall on another day in %s than in UTC" % (moved, zone))
    nd = env.client("lead.amara", "export", "observations", "--format", "ndjson").stdout
    check([json.loads(l)["session_day"] for l in nd.splitlines()] ==
          [r["session_day"] for r in rows], "the export's session_day is the feed's")
    env.admin("org", "--time-zone", "UTC")


def test_erase_reaches_feed(env, tok_lead, keep):
    """An erased person (a front-line manager who coached sessions, erased
    while the server runs) is in neither the feed nor the export: not the
    id, not the name, not the e-mail."""
    victim = sorted(f for f in line_managers(env) if f not in keep)[0]
    show = env.admin("user", "show", victim).stdout
    name = [l.split(":", 1)[1].strip() for l in show.splitlines() if l.startswith("name:")][0]
    email = [l.split(":", 1)[1].strip() for l in show.splitlines() if l.startswith("email:")][0]
    before = feed(env, tok_lead).decode()
    check(victim in before, "%s coached sessions the feed holds" % victim)
    env.admin("erase", victim)
    after = feed(env, tok_lead).decode() + feed(env, tok_lead, accept="text/csv").decode()
    export = env.client("lead.amara", "export", "observations", "--format", "ndjson").stdout
    for what, text in (("the feed", after), ("the export", export)):
        for needle in (victim, name, email):
            check(needle.lower() not in text.lower(),
                  "%s holds nothing of the erased %s (%r)" % (what, victim, needle))
    check(len(lines_of(feed(env, tok_lead))) == len(before.splitlines()),
          "the erased person's sessions stay in the feed, under a pseudonym")


def test_token_verbs(env):
    env.admin("token", "create", "slm.east", expect=2)
    env.admin("token", "create", "slm.east", "--name", "x", "--expires", "2001-01-01", expect=2)
    env.admin("token", "create", "slm.east", "--name", "x", "--expires", "0", expect=2)
    env.admin("token", "create", "rep.0001", "--name", "x", expect=1)
    env.admin("token", "revoke", "t-0000000000000000", expect=1)
    env.admin("token", "revoke", "nonsense", expect=2)
    check(True, "token verbs: usage errors exit 2, refusals 1")
    lst = env.admin("token", "list", "slm.east").stdout
    check("last use never" not in lst.splitlines()[0], "token list shows the last use")
    audit = env.admin("audit").stdout
    check("token.create" in audit and "token.revoke" in audit,
          "creating and revoking tokens is audited")


def test_throttle(env, tok):
    statuses = []
    for i in range(40):
        st, h, _ = env.https("/api/v1/feed/observations", "cqt_" + "A" * 43)
        statuses.append(st)
        if st == 429:
            break
    check(429 in statuses, "failed tokens count against the address's budget (429 after %d)"
          % len(statuses))
    st, _, _ = env.https("/api/v1/feed/observations?limit=1", tok)
    check(st == 429, "... which then holds for a good token from that address too")


def main():
    if len(sys.argv) != 4:
        print("usage: test_feed.py COACHQD COACHQ CERTS_SCRIPT", file=sys.stderr)
        return 2
    if shutil.which("mdb_stat") is None:
        print("test_feed: mdb_stat (lmdb-utils) is missing: run ./dev.sh setup", file=sys.stderr)
        return 1
    env = Env(*sys.argv[1:])
    try:
        env.setup()
        toks = {
            "lead": env.token("lead.amara"),
            "slm": env.token("slm.east"),
            "disabled": env.token("slm.west"),
        }
        mgr = line_managers(env)
        flm_user = sorted(f for f, m in mgr.items() if m == "slm.east")[0]
        toks["flm"] = env.token(flm_user)
        toks["revoke"] = env.token("slm.north", "to revoke")
        toks["revoke_id"] = [l.split()[0] for l in env.admin("token", "list", "slm.north")
                             .stdout.splitlines()][0]
        env.start()
        all_lines = lines_of(feed(env, toks["lead"]))
        st, _, body = env.https("/api/v1/feed/observations?after=1&limit=1", toks["lead"])
        first = [l for l in all_lines if l["calibration_ref"] is None and l["version"] == 1][0]
        template = json.loads(env.client("obs.silva", "get", first["id"], "--json").stdout) \
            if first["observer_id"] == "obs.silva" else None
        if template is None:
            tid = [l for l in all_lines if l["observer_id"] == "obs.silva"
                   and l["calibration_ref"] is None][-1]["id"]
            template = json.loads(env.client("obs.silva", "get", tid, "--json").stdout)
        # Enough records that one answer is far more than the kernel's socket
        # buffers and the connection's write cap together.
        submit_bulk(env, template, BULK)
        all_lines = lines_of(feed(env, toks["lead"]))
        test_feed_params(env, toks["lead"])
        test_resume(env, toks["lead"], all_lines)
        test_csv(env, toks["lead"], all_lines)
        test_tokens(env, toks, all_lines)
        test_long_poll(env, toks["lead"], template)
        all_lines = lines_of(feed(env, toks["lead"]))
        test_slow_reader(env, toks["lead"], all_lines, template)
        test_export(env, toks["lead"])
        test_session_day_zone(env, toks["lead"])
        test_erase_reaches_feed(env, toks["lead"], {flm_user})
        test_token_verbs(env)
        # A long poll still waiting when the server stops ends with it.
        raw = socket.create_connection(("127.0.0.1", env.dport))
        poll = env.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        poll.sendall(("GET /api/v1/feed/observations?after=999999&wait=60 HTTP/1.1\r\n"
                      "Host: x\r\nAuthorization: Bearer %s\r\n\r\n" % toks["slm"]).encode())
        poll.settimeout(30)
        check(b"200 OK" in poll.recv(4096), "a long poll is waiting")
        test_throttle(env, toks["lead"])
        rc = env.stop()
        check(rc == 0, "coachqd exits 0 on SIGTERM with a long poll open (sanitizers too)")
        try:
            rest = poll.recv(4096)
        except (OSError, ssl.SSLError):
            rest = b""
        poll.close()
        check(not rest.endswith(b"0\r\n\r\n"),
              "the waiting long poll is cut, not ended as a whole (empty) answer")
        print("all passed")
        return 0
    except Fail as e:
        print("FAIL - %s" % e, file=sys.stderr)
        print("server log: %s" % os.path.join(env.tmp, "server.log"), file=sys.stderr)
        try:
            sys.stderr.write(open(os.path.join(env.tmp, "server.log")).read()[-4000:])
        except OSError:
            pass
        return 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
