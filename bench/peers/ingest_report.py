#!/usr/bin/env python3
"""Formats bench/peers/ingest.sh's results file.

Each line of the file is one phase of one system, as key=value pairs:
sys=redis|coachq, round, w (requests in flight per connection), and the
figures ingest.sh gathered (redis: rps, p50_ms, p99_ms, p999_ms,
bytes_per_rec, client_cpu, client_s (its CPU seconds); coachq: bench_submit's
result line and wb, the server's write_bytes over the phase, loop_ticks and
clk_tck, the event loop thread's CPU over the phase, proc_real_s and
proc_cpu_s, bash's time of the whole bench_submit process).

  ingest_report.py --round R --w W FILE   one phase of one round
  ingest_report.py --summary FILE         median (min-max) over rounds
"""
import argparse
import statistics
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(dict(kv.split("=", 1) for kv in line.split()))
    return rows


def figures(row):
    """The common figures of one phase, whatever the system."""
    if row["sys"] == "redis":
        return {
            "rps": float(row["rps"]),
            "p50": float(row["p50_ms"]),
            "p99": float(row["p99_ms"]),
            "p999": float(row["p999_ms"]),
            "wpr": int(row.get("wc", "0")) / float(row["n"]) if "n" in row else 0.0,
            "bpr": float(row["bytes_per_rec"]),
            "cpu": float(row["client_cpu"]),
            "cus": float(row["client_s"]) * 1e6 / float(row["n"]) if "client_s" in row else 0.0,
        }
    stored = max(1, int(row["stored"]))
    commits = int(row["commits"])
    recs = int(row["server_records"])
    return {
        "rps": float(row["rps"]),
        "p50": int(row["p50_us"]) / 1000.0,
        "p99": int(row["p99_us"]) / 1000.0,
        "p999": int(row["p999_us"]) / 1000.0,
        "wpr": int(row.get("wc", "0")) / stored,
        "bpr": int(row["wb"]) / stored,
        # The whole process, as bash's time gives redis-benchmark's (its
        # handshakes included), where the run recorded it; else
        # bench_submit's own figure, which starts at its phase.
        "cpu": float(row["proc_cpu_s"]) / float(row["proc_real_s"])
        if "proc_cpu_s" in row and float(row["proc_real_s"]) > 0
        else float(row["client_cpu_share"]),
        "cus": float(row.get("proc_cpu_s", row["client_cpu_s"])) * 1e6 / stored,
        "lus": int(row["loop_ticks"]) * 1e6 / int(row["clk_tck"]) / recs
        if "loop_ticks" in row and recs else 0.0,
        "rpc": recs / commits if commits else 0.0,
        "wus": int(row["writer_cpu_us"]) / recs if recs else 0.0,
        "anon": int(row.get("anon_kib", "0")) / 1024.0,
    }


MEASURES = [
    ("rps", "records/s", "%.0f"),
    ("p50", "ack p50 ms", "%.2f"),
    ("p99", "ack p99 ms", "%.2f"),
    ("p999", "ack p99.9 ms", "%.2f"),
    ("wpr", "bytes written/record", "%.0f"),
    ("bpr", "kernel write_bytes/rec", "%.0f"),
    ("cpu", "load client CPU (cores)", "%.2f"),
    ("cus", "load client CPU us/req", "%.1f"),
    ("lus", "server loop CPU us/req", "%.1f"),
    ("rpc", "records per commit", "%.1f"),
    ("wus", "writer CPU us/record", "%.1f"),
    ("anon", "server RssAnon MiB", "%.1f"),
]


def one_phase(rows, rnd, w):
    got = {r["sys"]: figures(r) for r in rows if r["round"] == rnd and r["w"] == w}
    c, r = got.get("coachq"), got.get("redis")
    print("round %s, 64 connections x %s in flight" % (rnd, w))
    print("  %-24s %12s %12s" % ("", "coachq", "redis"))
    for key, name, fmt in MEASURES:
        cv = fmt % c[key] if c and key in c else "-"
        rv = fmt % r[key] if r and key in r else "-"
        print("  %-24s %12s %12s" % (name, cv, rv))
    if c and r and r["rps"] > 0:
        print("  coachq/redis: %.2fx records/s, p99 %.2fx" % (c["rps"] / r["rps"],
                                                          c["p99"] / r["p99"] if r["p99"] else 0))
    sys.stdout.flush()


def spread(values, fmt):
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt % med
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med, min(values), max(values))


def summary(rows):
    rounds = sorted({int(r["round"]) for r in rows})
    print()
    print("summary: median over %d rounds (min-max)" % len(rounds))
    print("%-6s %-24s %-26s %-26s %s" % ("phase", "measure", "coachq", "redis",
                                         "coachq/redis"))
    for w in sorted({r["w"] for r in rows}, key=int):
        per = {"coachq": {}, "redis": {}}
        for r in rows:
            if r["w"] == w:
                per[r["sys"]][r["round"]] = figures(r)
        first = True
        for key, name, fmt in MEASURES:
            cv = [f[key] for f in per["coachq"].values() if key in f]
            rv = [f[key] for f in per["redis"].values() if key in f]
            ratio = "-"
            if key in ("rps", "p50", "p99", "p999", "wpr", "bpr", "cus"):
                both = [per["coachq"][k][key] / per["redis"][k][key]
                        for k in per["coachq"] if k in per["redis"] and per["redis"][k][key]]
                ratio = spread(both, "%.2fx") if both else "-"
            print("%-6s %-24s %-26s %-26s %s" % ("64x%s" % w if first else "", name,
                                                 spread(cv, fmt), spread(rv, fmt), ratio))
            first = False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--round")
    ap.add_argument("--w")
    ap.add_argument("--summary", action="store_true")
    a = ap.parse_args()
    rows = load(a.file)
    if a.summary:
        summary(rows)
    elif a.round and a.w:
        one_phase(rows, a.round, a.w)
    else:
        ap.error("give --summary, or --round and --w")
    return 0


if __name__ == "__main__":
    sys.exit(main())
