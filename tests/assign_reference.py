#!/usr/bin/python3
"""Reference test of the assignment draw's randomness (issue 15, part 3).

Runs `test_assign --dump SEEDS` (the product's own draw on a store of 12
front-line managers in three lines and six certified observers, under a
plan with every exclusion) and checks with SciPy:

  matching   for every manager, how often each eligible observer was drawn
             is uniform: scipy.stats.chisquare against equal frequencies,
             p above 0.001 after a Bonferroni correction over managers;
             an observer the exclusions keep off a manager is never drawn
  strata     a sample of 5 over lines of 4, 2 and 6 managers gives every
             line its largest-remainder share (2, 1, 2): within 1 of the
             proportional share 5 * n / 12, every seed

Usage: assign_reference.py PATH/TO/test_assign [SEEDS]
"""

import subprocess
import sys

import scipy.stats as st

OBSERVERS = ["dir.1", "obs.1", "obs.2", "obs.3", "obs.a", "slm.c"]


def eligible(manager):
    """The observers the plan allows for manager, worked out by hand."""
    out = set(OBSERVERS)
    if manager.startswith("flm.a"):
        out -= {"dir.1", "obs.a"}  # line a reports to dir.1; obs.a is on line a
    if manager.startswith("flm.c"):
        out -= {"slm.c"}  # their own second-level manager
    if manager == "flm.a1":
        out -= {"obs.2"}  # observed flm.a1 last
    return out


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    seeds = int(sys.argv[2]) if len(sys.argv) == 3 else 3000
    out = subprocess.run([sys.argv[1], "--dump", str(seeds)], check=True,
                         capture_output=True, text=True, timeout=240).stdout
    failures = []
    managers = [ln for ln in out.splitlines() if ln.startswith("manager ")]
    strata = [ln for ln in out.splitlines() if ln.startswith("strata ")]
    if len(managers) != 12 or len(strata) != seeds:
        print(f"unexpected dump: {len(managers)} managers, {len(strata)} strata lines")
        return 1
    alpha = 0.001 / len(managers)
    worst = 1.0
    for ln in managers:
        parts = ln.split()
        m = parts[1]
        counts = {k: int(v) for k, v in (p.split("=") for p in parts[2:])}
        ok = eligible(m)
        for o, c in counts.items():
            if o not in ok and c != 0:
                failures.append(f"{m}: {o} drawn {c} times but excluded")
        obs = [counts[o] for o in OBSERVERS if o in ok]
        if sum(obs) != seeds:
            failures.append(f"{m}: {sum(obs)} draws over {seeds} seeds")
        p = st.chisquare(obs).pvalue
        worst = min(worst, p)
        if p < alpha:
            failures.append(f"{m}: counts {obs} not uniform (chi-square p = {p:.3g})")
    sizes = [4, 2, 6]
    for ln in strata:
        per = [int(x) for x in ln.split()[1:]]
        for n, got in zip(sizes, per):
            want = 5 * n / 12
            if not abs(got - want) < 1:
                failures.append(f"stratum of {n}: {got} of 5, share {want:.2f}")
        if per != [2, 1, 2]:
            failures.append(f"strata {per}: the largest remainders give [2, 1, 2]")
    print(f"{seeds} seeds, 12 managers: smallest chi-square p {worst:.3g} "
          f"(threshold {alpha:.3g}); {len(strata)} samples of 5 by line")
    for f in failures[:20]:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
