#!/usr/bin/python3
"""Reference test of coachq's time zone arithmetic (common/tz.c, issue 16).

Runs tz_ref_dump (the product's own TZif reader over the system's
/usr/share/zoneinfo) and compares it with Python's zoneinfo, which reads
the same files:

  - every zone zoneinfo lists, on random instants over 1900..2100;
  - for zones with unusual rules (30-minute daylight time, 45-minute and
    quarter-hour offsets, negative rule times, zones that changed their
    standard offset, southern-hemisphere daylight time, zones whose files
    stop early and leave the rest to the footer's rule), every transition
    over 1900..2100 (found by scanning and halving with zoneinfo) at the
    instant and one second either side.

For each instant: the offset from UTC, the local day, and that the first
instant of the day the product names is right (its local day is the day,
the second before is an earlier day).

Usage: tz_reference.py PATH/TO/tz_ref_dump
"""

import datetime as dt
import random
import subprocess
import sys
import zoneinfo

SEED = 20261205
RANDOM_PER_ZONE = 200
T_MIN = -2208988800  # 1900-01-01T00:00:00Z
T_MAX = 4102444800   # 2100-01-01T00:00:00Z
STEP = 12 * 3600

SPECIAL = [
    "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns",
    "Asia/Kathmandu", "Asia/Kolkata", "Australia/Eucla", "Australia/Sydney",
    "America/Los_Angeles", "Europe/Berlin", "Europe/London", "Europe/Dublin",
    "America/Nuuk", "Asia/Jerusalem", "Africa/Casablanca", "America/Santiago",
    "Pacific/Apia", "Pacific/Kiritimati", "Asia/Pyongyang", "Europe/Moscow",
    "America/Sao_Paulo", "Asia/Tehran", "America/Havana", "Antarctica/Troll",
    "Pacific/Fiji", "Asia/Gaza", "Europe/Lisbon",
]


def offset(z, t):
    return int(dt.datetime.fromtimestamp(t, tz=z).utcoffset().total_seconds())


def local_day(z, t):
    d = dt.datetime.fromtimestamp(t, tz=z).date()
    return (d - dt.date(1970, 1, 1)).days


def transitions(z):
    """Every instant in [T_MIN, T_MAX] where the offset changes."""
    out = []
    prev_t = T_MIN
    prev = offset(z, prev_t)
    t = T_MIN + STEP
    while t <= T_MAX:
        cur = offset(z, t)
        if cur != prev:
            lo, hi = prev_t, t  # offset(lo) == prev, offset(hi) != prev
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(z, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        prev_t, prev = t, cur
        t += STEP
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    rng = random.Random(SEED)
    zones = sorted(z for z in zoneinfo.available_timezones()
                   if not z.startswith(("right/", "posix/")) and z != "localtime")
    plan = []  # (zone name, [instants])
    ntrans = 0
    for name in zones:
        ts = [rng.randrange(T_MIN, T_MAX) for _ in range(RANDOM_PER_ZONE)]
        if name in SPECIAL:
            tr = transitions(zoneinfo.ZoneInfo(name))
            ntrans += len(tr)
            for x in tr:
                ts += [x - 1, x, x + 1]
        plan.append((name, ts))
    missing = [z for z in SPECIAL if z not in zones]
    if missing:
        print("tz_reference: zones missing from this system's tzdata: %s" % missing)
        return 1
    lines = []
    for name, ts in plan:
        lines.append("zone " + name)
        lines += [str(t) for t in ts]
    res = subprocess.run([sys.argv[1]], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print("tz_ref_dump failed (%d): %s" % (res.returncode, res.stderr))
        return 1
    out = res.stdout.splitlines()
    i = 0
    failures = []
    checked = 0
    for name, ts in plan:
        head = out[i]
        i += 1
        if head != "ok " + name:
            failures.append("%s: %s" % (name, head))
            i += len(ts)
            continue
        z = zoneinfo.ZoneInfo(name)
        for t in ts:
            f = out[i].split()
            i += 1
            got_t, got_off, got_day, got_start = (int(x) for x in f)
            want_off = offset(z, t)
            want_day = local_day(z, t)
            checked += 1
            if got_t != t or got_off != want_off or got_day != want_day:
                failures.append("%s at %d (%s): offset %d day %d, zoneinfo %d day %d" % (
                    name, t, dt.datetime.fromtimestamp(t, tz=dt.timezone.utc).isoformat(),
                    got_off, got_day, want_off, want_day))
            elif not (local_day(z, got_start) >= got_day > local_day(z, got_start - 1)):
                failures.append("%s: day %d starts at %d, zoneinfo disagrees" % (
                    name, got_day, got_start))
    print("tz_reference: %d zones, %d transitions (x3), %d instants checked, %d failures" % (
        len(plan), ntrans, checked, len(failures)))
    for f in failures[:40]:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
