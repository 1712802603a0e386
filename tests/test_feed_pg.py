#!/usr/bin/env python3
"""test_feed_pg: the PostgreSQL recipe of the change feed, against the real
PostgreSQL 15 (docs/examples/feed-to-postgres.sh).

Usage: test_feed_pg.py COACHQD COACHQ CERTS_SCRIPT CONSUMER

A throw-away PostgreSQL cluster (initdb in a temporary directory, Unix
socket only, as the postgres user when run as root, stopped by its PID) and
a real coachqd with the demo organisation. The consumer loads the feed in
small batches; it is killed (SIGKILL) in the middle of its work, restarted,
more records are submitted and it runs again until caught up. The table
must then hold every stored version exactly once, loaded in sequence
order, matching the server's own feed field by field (the superseded flags
included). PostgreSQL 15 and curl are in dev.sh's packages: when missing,
the test fails saying so.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_feed  # noqa: E402
from test_feed import Env, Fail, check, feed, lines_of  # noqa: E402

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Pg:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "pg")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.port = free_port()
        self.proc = None
        self.as_user = []
        if os.getuid() == 0:
            self.as_user = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                            "--"]

    def start(self):
        os.makedirs(self.data)
        os.makedirs(self.sock)
        os.chmod(os.path.dirname(self.dir), 0o755)
        if self.as_user:
            subprocess.run(["chown", "-R", "postgres:", self.dir], check=True)
        p = subprocess.run(self.as_user + [os.path.join(PG_BIN, "initdb"), "-D", self.data,
                                           "-U", "coachq", "--auth=trust", "-E", "UTF8",
                                           "--locale=C"], capture_output=True, text=True)
        if p.returncode != 0:
            raise Fail("initdb failed: " + p.stderr)
        self.log = open(os.path.join(self.dir, "postgres.log"), "w")
        self.proc = subprocess.Popen(
            self.as_user + [os.path.join(PG_BIN, "postgres"), "-D", self.data, "-k", self.sock,
                            "-p", str(self.port), "-c", "listen_addresses=", "-c",
                            "timezone=UTC", "-c", "fsync=off"],
            stdout=self.log, stderr=self.log)
        for _ in range(200):
            if subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.sock,
                               "-p", str(self.port)]).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise Fail("PostgreSQL did not start: see " + self.log.name)

    def env(self):
        e = dict(os.environ)
        e.update(PGHOST=self.sock, PGPORT=str(self.port), PGUSER="coachq",
                 PGDATABASE="postgres",
                 # A consumer killed with SIGKILL leaves its temporary
                 # directory: inside the test's, which goes at the end.
                 TMPDIR=os.path.dirname(self.dir))
        return e

    def query(self, sql):
        p = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
                            "-c", sql], capture_output=True, text=True, env=self.env())
        if p.returncode != 0:
            raise Fail("psql: " + p.stderr)
        return p.stdout

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def consumer_args(env, consumer, tokfile, *extra):
    return [consumer, "--url", "https://127.0.0.1:%d" % env.dport, "--token-file", tokfile,
            "--cacert", os.path.join(env.certs, "ca.crt")] + list(extra)


def table_rows(pg):
    out = pg.query("SELECT json_agg(json_build_object('seq', seq, 'id', id, 'version', version,"
                   " 'superseded', superseded, 'coach_id', coach_id, 'notes', notes,"
                   " 'ratings', ratings, 'actions', actions, 'started_at', started_at,"
                   " 'load_no', load_no) ORDER BY seq) FROM coachq_observations")
    return json.loads(out) if out.strip() else []


def compare(pg, server_lines):
    rows = table_rows(pg)
    check(len(rows) == len(server_lines) and
          [r["seq"] for r in rows] == [l["seq"] for l in server_lines],
          "the table holds every version exactly once (%d rows)" % len(rows))
    check([r["load_no"] for r in rows] == sorted(r["load_no"] for r in rows),
          "... loaded in sequence order")
    bad = [r["seq"] for r, l in zip(rows, server_lines)
           if (r["id"], r["version"], r["superseded"], r["coach_id"], r["notes"],
               r["ratings"], r["actions"]) !=
           (l["id"], l["version"], l["superseded"], l["coach_id"], l["notes"],
            l["ratings"], l["actions"])]
    check(not bad, "... each matching the server's feed, superseded flags included (%s)"
          % bad[:5])
    last = pg.query("SELECT last_seq FROM coachq_feed_state").strip()
    check(int(last) == server_lines[-1]["seq"], "the last seq is kept in the database")


def main():
    if len(sys.argv) != 5:
        print("usage: test_feed_pg.py COACHQD COACHQ CERTS_SCRIPT CONSUMER", file=sys.stderr)
        return 2
    if not os.path.exists(os.path.join(PG_BIN, "postgres")):
        print("test_feed_pg: PostgreSQL 15 is missing (%s): run ./dev.sh setup" % PG_BIN,
              file=sys.stderr)
        return 1
    for tool in ("curl", "psql"):
        if shutil.which(tool) is None:
            print("test_feed_pg: %s is missing: run ./dev.sh setup" % tool, file=sys.stderr)
            return 1
    consumer = sys.argv[4]
    env = Env(*sys.argv[1:4])
    pg = Pg(env.tmp)
    cons = None
    try:
        env.setup()
        tok = env.token("lead.amara", "warehouse")
        tokfile = os.path.join(env.tmp, "token")
        with open(tokfile, "w") as f:
            f.write(tok + "\n")
        os.chmod(tokfile, 0o600)
        env.start()
        pg.start()
        all_lines = lines_of(feed(env, tok))
        tid = [l for l in all_lines if l["observer_id"] == "obs.silva" and
               l["calibration_ref"] is None][-1]["id"]
        template = json.loads(env.client("obs.silva", "get", tid, "--json").stdout)

        # Round 1: killed in the middle of its work.
        log = open(os.path.join(env.tmp, "consumer.log"), "w")
        cons = subprocess.Popen(consumer_args(env, consumer, tokfile, "--batch", "40",
                                              "--wait", "5"),
                                env=pg.env(), stdout=log, stderr=log)
        for _ in range(600):
            n = int(pg.query("SELECT count(*) FROM coachq_observations") or 0) \
                if pg.query("SELECT to_regclass('coachq_observations')").strip() else 0
            if n >= 200:
                break
            if cons.poll() is not None:
                raise Fail("the consumer exited: " + open(log.name).read()[-2000:])
            time.sleep(0.05)
        cons.send_signal(signal.SIGKILL)
        cons.wait()
        cons = None
        n1 = int(pg.query("SELECT count(*) FROM coachq_observations"))
        check(0 < n1 < len(all_lines), "the consumer was killed mid-stream (%d of %d loaded)"
              % (n1, len(all_lines)))
        check(int(pg.query("SELECT last_seq FROM coachq_feed_state")) ==
              int(pg.query("SELECT max(seq) FROM coachq_observations")),
              "what it loaded and its last seq were committed together")

        # More records meanwhile, among them an amendment, then resume.
        for _ in range(3):
            test_feed.submit_new(env, template)
        amend = dict(template)
        amend["amends"] = amend.pop("id")
        amend.pop("markers", None)
        amend["notes"] = "Amended: the rep asked for more time on the forecast."
        path = os.path.join(env.tmp, "amend.json")
        with open(path, "w") as f:
            json.dump(amend, f)
        out = env.client("obs.silva", "submit", path).stdout
        check("version=2" in out, "an amendment is stored (%s)" % out.split("\n")[0])
        p = subprocess.run(consumer_args(env, consumer, tokfile, "--batch", "500", "--once"),
                           env=pg.env(), capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, "the consumer resumes and catches up (exit 0)")
        compare(pg, lines_of(feed(env, tok)))

        # A second run with nothing new loads nothing and changes nothing.
        p = subprocess.run(consumer_args(env, consumer, tokfile, "--once"), env=pg.env(),
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 0 and "loaded" not in p.stderr,
              "a caught-up consumer loads nothing again")
        compare(pg, lines_of(feed(env, tok)))

        # A revoked token: the consumer fails and loads nothing.
        env.admin("token", "revoke", env.admin("token", "list", "lead.amara")
                  .stdout.split()[0])
        test_feed.submit_new(env, template)
        p = subprocess.run(consumer_args(env, consumer, tokfile, "--once"), env=pg.env(),
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 1, "with a revoked token the consumer exits 1, loading nothing")
        p = subprocess.run([consumer, "--url", "http://x"], capture_output=True, text=True)
        check(p.returncode == 2, "the consumer's usage errors exit 2")
        check(env.stop() == 0, "coachqd exits 0 on SIGTERM")
        print("all passed")
        return 0
    except Fail as e:
        print("FAIL - %s" % e, file=sys.stderr)
        for f in ("consumer.log", "server.log"):
            try:
                sys.stderr.write(open(os.path.join(env.tmp, f)).read()[-3000:])
            except OSError:
                pass
        return 1
    finally:
        if cons is not None and cons.poll() is None:
            cons.kill()
            cons.wait()
        pg.stop()
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
