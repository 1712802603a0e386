#!/usr/bin/python3
"""Reference test of every statistic coachq computes (issue 11, section 3).

Generates a few thousand cases with a fixed seed, edge cases included
(n = 0, 1, 2; one category; perfect disagreement; N/A mixed in; fractional
and huge df; empty arms; constant x or y), runs them through
stats_ref_dump (the product's own functions, and whole dashboards built
from a real store), and compares every figure with SciPy, scikit-learn and
statsmodels:

  agreement, within-one  numpy on the pairs
  quadratic kappa        sklearn.metrics.cohen_kappa_score(weights='quadratic')
  t quantile             scipy.stats.t.ppf, polished by Newton steps on
                         scipy.stats.t.sf (see T_NOTE), and mpmath at 40 digits
  means, t-intervals     numpy, scipy.stats.sem and the t quantile
  DiD, clustered errors  statsmodels OLS(...).fit(cov_type='cluster', use_t=True)
                         on the stacked observations, clustered by manager
  effect size            numpy on the stacked cells
  Pearson r, Fisher-z    scipy.stats.pearsonr and its confidence_interval()
  drift, shares          numpy on the raw observations (stores with
                         sessions of 2, 3 and 4 observers)

Tolerance: 1e-9 relative where both sides are finite (with an absolute
floor of 1e-12 for figures that are 0 in exact arithmetic); where the answer
is undefined, both sides must say so.

Usage: stats_reference.py PATH/TO/stats_ref_dump
"""

import json
import math
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import scipy.stats as st
import statsmodels.api as sm
from sklearn.metrics import cohen_kappa_score

warnings.filterwarnings("ignore")

RTOL = 1e-9
ATOL = 1e-12
SEED = 20261205

T_NOTE = ("SciPy 1.10's t.ppf comes from cdflib and is itself off by up to "
          "5e-9 relative near df 30 (mpmath shows it); the reference is "
          "t.ppf polished by three Newton steps on t.sf / t.pdf")

rng = np.random.default_rng(SEED)


class Checker:
    def __init__(self):
        self.max_rel = {}
        self.count = {}
        self.failures = []

    def _note(self, stat, rel):
        self.count[stat] = self.count.get(stat, 0) + 1
        if rel > self.max_rel.get(stat, 0.0):
            self.max_rel[stat] = rel

    def num(self, stat, case, got, want, rtol=RTOL, atol=ATOL):
        """got and want agree, or are both undefined (None or NaN)."""
        gu = got is None or (isinstance(got, float) and math.isnan(got))
        wu = want is None or (isinstance(want, float) and math.isnan(want))
        if gu or wu:
            self._note(stat, 0.0)
            if gu != wu:
                self.failures.append(f"{stat}: {case}: product {got}, reference {want}")
            return
        got = float(got)
        want = float(want)
        if math.isinf(got) or math.isinf(want):
            self._note(stat, 0.0)
            if got != want:
                self.failures.append(f"{stat}: {case}: product {got}, reference {want}")
            return
        diff = abs(got - want)
        scale = max(abs(got), abs(want))
        rel = diff / scale if scale > 0 else 0.0
        # Reported: the relative error of every figure not within rounding
        # of 0 (where a relative error means nothing).
        self._note(stat, rel if diff > atol or scale >= 1e-6 else 0.0)
        if diff > atol and rel > rtol:
            self.failures.append(f"{stat}: {case}: product {got!r}, reference {want!r}, "
                                 f"relative error {rel:.3g}")

    def eq(self, stat, case, got, want):
        self._note(stat, 0.0)
        if got != want:
            self.failures.append(f"{stat}: {case}: product {got!r}, expected {want!r}")


chk = Checker()


def fnum(s):
    return float("nan") if s == "nan" else float(s)


# ---- The t quantile ---------------------------------------------------------

def t_ref(p, df):
    """The p quantile of t(df): SciPy's, polished (see T_NOTE)."""
    if math.isinf(df):
        return float(st.norm.ppf(p))
    q = float(st.t.ppf(p, df))
    for _ in range(3):
        if p > 0.5:
            q += (float(st.t.sf(q, df)) - (1.0 - p)) / float(st.t.pdf(q, df))
        else:
            q -= (float(st.t.cdf(q, df)) - p) / float(st.t.pdf(q, df))
    return q


def t_mpmath(p, df):
    mpmath.mp.dps = 40
    d = mpmath.mpf(df)
    p = mpmath.mpf(p)
    upper = p > 0.5
    alpha = 2 * (1 - p) if upper else 2 * p
    f = lambda t: mpmath.betainc(d / 2, mpmath.mpf(1) / 2, 0, d / (d + t * t),
                                 regularized=True) - alpha
    t = mpmath.findroot(f, mpmath.mpf(abs(t_ref(float(p), df))))
    return float(t if upper else -t)


def t_cases():
    dfs = list(10 ** rng.uniform(math.log10(0.5), 6, 1500))
    dfs += [0.5, 0.75, 1, 1.5, 2, 2.5, 3, 7, 29.5, 30, 30.5, 35, 119.5, 1000, 49999, 50000,
            50001, 1e5, 1e6]
    levels = [0.90, 0.95, 0.99]
    ps = [0.975, 0.95, 0.995, 0.025, 0.6, 0.5000001, 0.999999, 1e-6]
    lines = []
    for i, df in enumerate(dfs):
        p = ps[i % len(ps)]
        lines.append((f"tq {p!r} {df!r}", ("tq", p, df)))
        lv = levels[i % len(levels)]
        lines.append((f"tc {lv!r} {df!r}", ("tc", lv, df)))
    # Undefined: df <= 0, NaN; p or level outside (0, 1).
    for bad in ["tq 0.975 0", "tq 0.975 -1", "tq 0.975 nan", "tq 1 5", "tq 0 5",
                "tc 1 5", "tc 0 5", "tc 0.95 0"]:
        lines.append((bad, ("undef",)))
    lines.append(("tc 0.95 inf", ("tc", 0.95, math.inf)))
    return lines


def t_check(case, out, raw):
    if case[0] == "undef":
        chk.num("t quantile", out, fnum(out.split()[1]), None)
        return
    kind, a, df = case
    got = fnum(out.split()[1])
    p = a if kind == "tq" else (1 + a) / 2
    want = t_ref(p, df)
    chk.num("t quantile", f"{kind} {a} {df}", got, want)
    if not math.isinf(df):
        rel = abs(got - float(st.t.ppf(p, df))) / abs(want) if want != 0 else 0.0
        raw["max"] = max(raw["max"], rel)


# ---- Incomplete beta ----------------------------------------------------------

def ib_cases():
    lines = []
    for _ in range(300):
        a = float(10 ** rng.uniform(-1, 3))
        b = float(10 ** rng.uniform(-1, 3))
        x = float(rng.uniform(0, 1))
        lines.append((f"ib {a!r} {b!r} {x!r}", (a, b, x)))
    for a, b, x in [(0.5, 0.5, 0.0), (2, 3, 1.0), (3, 0.5, 0.999999), (1e3, 0.5, 0.999)]:
        lines.append((f"ib {a!r} {b!r} {x!r}", (a, b, x)))
    return lines


def ib_check(case, out):
    from scipy.special import betainc
    a, b, x = case
    want = float(betainc(a, b, x))
    got = fnum(out.split()[1])
    # betainc's tiny values (below 1e-280) lose relative precision on both
    # sides; they never matter for a quantile.
    if want < 1e-280:
        return
    chk.num("incomplete beta", f"{a} {b} {x}", got, want)


# ---- Agreement and kappa -----------------------------------------------------

def agree_cases():
    lines = []
    specs = []
    for n in [0, 1, 2, 3]:
        for _ in range(10):
            specs.append(("random", n, 1, 4))
    for _ in range(400):
        specs.append(("random", int(rng.integers(3, 120)), 1, 4))
    for _ in range(40):
        specs.append(("random", int(rng.integers(2, 60)), 1, int(rng.integers(1, 8))))
    for n in [1, 2, 5, 30]:
        specs.append(("one", n, 1, 4))        # both raters one and the same category
        specs.append(("oneref", n, 1, 4))     # the reference one category, the other not
        specs.append(("opposite", n, 1, 4))   # perfect disagreement
        specs.append(("perfect", n, 1, 4))
    for kind, n, lo, hi in specs:
        if kind == "random":
            a = rng.integers(lo, hi + 1, n)
            b = np.clip(a + rng.integers(-2, 3, n), lo, hi)
            flip = rng.random(n) < 0.3
            b = np.where(flip, rng.integers(lo, hi + 1, n), b)
        elif kind == "one":
            a = np.full(n, 3)
            b = np.full(n, 3)
        elif kind == "oneref":
            a = np.full(n, 2)
            b = rng.integers(1, 5, n)
        elif kind == "opposite":
            a = np.where(np.arange(n) % 2 == 0, 1, 4)
            b = 5 - a
        else:
            a = rng.integers(1, 5, n)
            b = a.copy()
        body = " ".join(f"{int(x)} {int(y)}" for x, y in zip(a, b))
        lines.append((f"agree {lo} {hi} {n} {body}".rstrip(), (kind, a, b, lo, hi)))
    return lines


def kappa_ref(a, b, labels, weight=None):
    """sklearn's quadratic kappa. labels must list the whole scale: without
    them sklearn weighs by the distance between the ranks of the scores
    present, not between the scores."""
    if len(a) == 0:
        return None
    k = cohen_kappa_score(a, b, weights="quadratic", labels=labels, sample_weight=weight)
    return None if not np.isfinite(k) else float(k)


def agree_check(case, out):
    kind, a, b, lo, hi = case
    f = out.split()[1:]
    tag = f"{kind} n={len(a)}"
    if len(a) == 0:
        chk.eq("agreement", tag, f, ["err"])
        return
    chk.num("agreement", tag, fnum(f[0]), float(np.mean(a == b)))
    chk.num("within one", tag, fnum(f[1]), float(np.mean(np.abs(a - b) <= 1)))
    # RECONCILE(h4): stats_agreement() still reports a 0/0 kappa as 1 (or 0)
    # with kappa_defined = 0; the product's figure is taken as undefined
    # whenever kappa_defined is 0, so this comparison expects "undefined"
    # where sklearn answers NaN, whatever value the struct carries.
    got = None if f[3] == "0" else fnum(f[2])
    chk.num("quadratic kappa", tag, got, kappa_ref(a, b, labels=list(range(lo, hi + 1))))


def table_cases():
    lines = []
    for _ in range(150):
        k = int(rng.integers(1, 7))
        counts = rng.integers(0, 6, (k, k)).astype(float)
        if rng.random() < 0.3:
            counts = counts * rng.random((k, k)) * 3.7  # fractional counts
        if counts.sum() == 0:
            counts[0, 0] = 1
        body = " ".join(repr(float(c)) for c in counts.ravel())
        lines.append((f"table {k} {body}", counts))
    return lines


def table_check(counts, out):
    f = out.split()[1:]
    k = counts.shape[0]
    ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    w = counts.ravel()
    a = ii.ravel()[w > 0]
    b = jj.ravel()[w > 0]
    w = w[w > 0]
    tot = w.sum()
    tag = f"table k={k}"
    chk.num("agreement", tag, fnum(f[0]), float(w[a == b].sum() / tot))
    chk.num("within one", tag, fnum(f[1]), float(w[np.abs(a - b) <= 1].sum() / tot))
    got = None if f[3] == "0" else fnum(f[2])  # RECONCILE(h4), as above
    want = None if k == 1 else kappa_ref(a, b, labels=list(range(k)), weight=w)
    chk.num("quadratic kappa", tag, got, want)


# ---- Means and t-intervals ---------------------------------------------------

def mean_cases():
    lines = []
    for i in range(400):
        n = [0, 1, 2, 3][i] if i < 4 else int(rng.integers(1, 80))
        if i % 17 == 5:
            x = np.full(n, float(rng.integers(1, 5)))  # constant
        else:
            x = rng.integers(1, 5, n).astype(float)
        lines.append((f"mean {n} {x.sum()!r} {(x * x).sum()!r}", x))
    return lines


def mean_check(x, out):
    f = out.split()[1:]
    n = len(x)
    tag = f"mean n={n}"
    if n == 0:
        chk.eq("mean", tag, f, ["err"])
        return
    chk.num("mean", tag, fnum(f[0]), float(np.mean(x)))
    var = float(np.var(x, ddof=1)) if n > 1 else None
    chk.num("variance", tag, fnum(f[1]), var, atol=1e-12)
    chk.num("sd", tag, fnum(f[2]), None if var is None else math.sqrt(var), atol=1e-12)
    if n < 2:
        chk.eq("t-interval", tag, f[3:], ["err"])
        return
    se = float(st.sem(x))
    t = t_ref(0.975, n - 1)
    chk.num("t-interval", tag, fnum(f[4]), se, atol=1e-12)
    chk.num("t-interval", tag, fnum(f[6]), float(np.mean(x)) - t * se)
    chk.num("t-interval", tag, fnum(f[7]), float(np.mean(x)) + t * se)


# ---- Difference-in-differences: Welch and effect size ------------------------

def did_cases():
    lines = []
    for i in range(300):
        cells = []
        for c in range(4):
            n = int(rng.integers(2, 40)) if i % 50 else int(rng.integers(1, 3))
            shift = [0, 0.4, 0, 0.1][c]
            x = np.clip(np.round(rng.normal(2.5 + shift, 0.8, n)), 1, 4)
            if i % 23 == 0:
                x = np.full(n, 2.0)  # no spread
            cells.append(x)
        body = " ".join(f"{len(x)} {float(np.mean(x))!r} "
                        f"{(float(np.std(x, ddof=1)) if len(x) > 1 else 0.0)!r}" for x in cells)
        lines.append((f"did {body}", cells))
    return lines


def did_check(cells, out):
    f = out.split()[1:]
    tag = "did n=" + ",".join(str(len(x)) for x in cells)
    if min(len(x) for x in cells) < 2:
        chk.eq("DiD (Welch)", tag, f, ["err"])
        return
    m = [float(np.mean(x)) for x in cells]
    v = [float(np.var(x, ddof=1)) / len(x) for x in cells]
    est = (m[1] - m[0]) - (m[3] - m[2])
    se = math.sqrt(sum(v))
    den = sum(vi * vi / (len(x) - 1) for vi, x in zip(v, cells))
    df = sum(v) ** 2 / den if den > 0 else sum(len(x) - 1 for x in cells)
    chk.num("DiD (Welch)", tag, fnum(f[0]), est)
    chk.num("DiD (Welch)", tag, fnum(f[1]), se)
    if se > 0:
        chk.num("DiD (Welch)", tag, fnum(f[2]), df, rtol=1e-8)
        t = t_ref(0.975, df)
        chk.num("DiD (Welch)", tag, fnum(f[3]), est - t * se)
        chk.num("DiD (Welch)", tag, fnum(f[4]), est + t * se)
    pooled = math.sqrt(sum((len(x) - 1) * float(np.var(x, ddof=1)) for x in cells)
                       / sum(len(x) - 1 for x in cells))
    chk.num("effect size", tag, fnum(f[5]), pooled)
    chk.num("effect size", tag, fnum(f[6]), est / pooled if pooled > 0 else None)


# ---- Difference-in-differences clustered by manager --------------------------

def cluster_ols(y, treat, post, groups):
    """statsmodels' CR1 interaction estimate: (est, se, G) or None."""
    if len(y) == 0:
        return None
    X = np.column_stack([np.ones(len(y)), treat, post, treat * post])
    if np.linalg.matrix_rank(X) < 4 or len(y) <= 4:
        return None
    g = np.unique(groups, return_inverse=True)[1]
    if g.max() < 1:
        return None
    r = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    return float(r.params[3]), float(r.bse[3]), int(g.max() + 1), r


def didc_cases():
    lines = []
    for i in range(300):
        G = [0, 1, 2][i] if i < 3 else int(rng.integers(2, 30))
        level = [0.95, 0.90, 0.99][i % 3]
        groups = []
        for g in range(G):
            arm = g % 2 if i % 41 else 1  # i % 41 == 0: no control arm at all
            cells = [[], [], [], []]
            for c in ([0, 1] if arm else [2, 3]):
                k = int(rng.integers(0, 6))
                base = 2.4 + (0.5 if c == 1 else 0.1 if c == 3 else 0.0)
                cells[c] = list(np.clip(np.round(rng.normal(base + 0.3 * (g % 3), 0.9, k)), 1, 4))
                if i % 29 == 0:
                    cells[c] = [3.0] * k  # constant y
            if i % 13 == 0 and g == 0:
                cells[2] = list(np.clip(rng.integers(1, 5, 3), 1, 4).astype(float))  # in both arms
            groups.append(cells)
        body = " ".join(" ".join([str(len(c)) for c in cells] +
                                 [repr(float(sum(c))) for c in cells]) for cells in groups)
        lines.append((f"didc {level} {G} {body}".rstrip(), (level, groups)))
    return lines


def didc_check(case, out):
    level, groups = case
    f = out.split()[1:]
    y, treat, post, gid = [], [], [], []
    for g, cells in enumerate(groups):
        for c, vals in enumerate(cells):
            for v in vals:
                y.append(v)
                treat.append(1.0 if c < 2 else 0.0)
                post.append(1.0 if c in (1, 3) else 0.0)
                gid.append(g)
    y, treat, post, gid = map(np.array, (y, treat, post, gid))
    tag = f"didc G={len(groups)} N={len(y)}"
    cellsn = [sum(len(cells[c]) for cells in groups) for c in range(4)]
    ref = cluster_ols(y, treat, post, gid) if min(cellsn) > 0 else None
    if ref is None:
        chk.eq("DiD (clustered)", tag, f, ["err"])
        return
    est, se, G, res = ref
    if f == ["err"]:
        chk.failures.append(f"DiD (clustered): {tag}: product refused, statsmodels {est} {se}")
        return
    chk.num("DiD (clustered)", tag, fnum(f[0]), est, atol=1e-12)
    chk.num("DiD (clustered)", tag, fnum(f[1]), se, atol=1e-12)
    chk.eq("DiD (clustered)", tag, int(float(f[2])), G - 1)
    t = t_ref((1 + level) / 2, G - 1)
    chk.num("DiD (clustered)", tag, fnum(f[3]), est - t * se, atol=1e-12)
    chk.num("DiD (clustered)", tag, fnum(f[4]), est + t * se, atol=1e-12)
    lo, hi = res.conf_int(alpha=1 - level)[3]
    chk.num("DiD (clustered) vs statsmodels conf_int", tag, fnum(f[3]), float(lo), rtol=1e-7)
    chk.num("DiD (clustered) vs statsmodels conf_int", tag, fnum(f[4]), float(hi), rtol=1e-7)


# ---- Pearson's r and its Fisher-z interval ---------------------------------

def corr_cases():
    lines = []
    for i in range(400):
        n = [0, 1, 2, 3, 4][i] if i < 5 else int(rng.integers(3, 80))
        x = rng.normal(2.5, 0.6, n)
        y = 0.3 * x + rng.normal(0, 0.2, n)
        if i % 31 == 7:
            x = np.full(n, 2.0)  # constant x
        if i % 31 == 11:
            y = np.full(n, 0.25)  # constant y
        if i % 31 == 13:
            y = 2 * x + 1  # perfect
        if i % 31 == 17:
            x = rng.integers(1, 5, n).astype(float)
        body = " ".join(f"{a!r} {b!r}" for a, b in zip(x, y))
        lines.append((f"corr {n} {body}".rstrip(), (x, y)))
    return lines


def corr_check(case, out):
    x, y = case
    f = out.split()[1:]
    n = len(x)
    tag = f"corr n={n}"
    constant = n > 0 and (np.ptp(x) == 0 or np.ptp(y) == 0)
    if n < 3 or constant:
        # r needs 3 pairs and both variables varying: undefined on both
        # sides (pearsonr answers NaN for a constant input).
        if n >= 2:
            r = st.pearsonr(x, y)[0]
            if not constant:
                r = float("nan")  # n = 2: |r| = 1 by construction, not a figure
            chk.num("Pearson r", tag, None, None if not np.isfinite(r) else r)
        chk.eq("Pearson r", tag, f, ["err", "err"])
        return
    res = st.pearsonr(x, y)
    r = float(res[0])
    for half, name in ((f[0:4], "stats_corr"), (f[4:8], "stats_corr_sums")):
        # The sums form loses digits to cancellation; it is used on
        # quality indices (1..4) and results, where 1e-9 holds.
        chk.num("Pearson r", f"{tag} {name}", fnum(half[0]), r, atol=1e-12)
        if n < 4:
            chk.eq("Fisher-z interval", f"{tag} {name}", half[1], "0")
            continue
        ci = res.confidence_interval(0.95)
        chk.num("Fisher-z interval", f"{tag} {name}", fnum(half[2]), float(ci.low), atol=1e-12)
        chk.num("Fisher-z interval", f"{tag} {name}", fnum(half[3]), float(ci.high), atol=1e-12)


# ---- Whole dashboards from a store -------------------------------------------

UNTIL = 19886                      # Wednesday 2024-06-12
NB = 10
MIN_N = 3
PRIVACY_MIN = 5
MIN_MANAGERS = 10                  # DID_MIN_MANAGERS in query/dash_did.c
FEW = "too few managers for an interval"
SMALL = "group too small"


def monday(day):
    return day - (day + 3) % 7


def store_cases():
    """Generated stores. Cases 0-7 have at most two observers on a session;
    cases 8 and 9 (4 and 5 observers) also have sessions scored by three
    and four observers, where each observer's double-coded share (their
    observations with at least one peer over all their observations) must
    still count an observation once, however many peers it has."""
    cases = []
    for i in range(10):
        managers = [6, 14, 24, 30, 30, 36, 24, 40, 24, 30][i]
        observers = 3 if i < 8 else [4, 5][i - 8]
        per_session = 2 if i < 8 else 4
        until_m = monday(UNTIL)
        first = until_m - 51 * 7
        # Training: a few cohorts, some managers never trained, some before
        # the window, some after until (not counted).
        weeks = sorted(rng.choice(np.arange(first + 7, until_m - 14, 7), 3, replace=False))
        completed = {}
        for m in range(managers):
            r = rng.random()
            if r < 0.55:
                completed[m] = int(rng.choice(weeks)) + int(rng.integers(0, 7))
            elif r < 0.6:
                completed[m] = first - 30
            elif r < 0.65:
                completed[m] = UNTIL + 20
        obs = []
        for m in range(managers):
            level = rng.normal(2.5, 0.3)
            k = int(rng.integers(0, 14)) if i != 6 else int(rng.integers(0, 3))
            for _ in range(k):
                day = int(rng.integers(first, UNTIL + 1))
                gain = 0.4 if m in completed and completed[m] <= day else 0.0
                hour = int(rng.integers(8, 17))
                o = int(rng.integers(0, observers))
                scores = [int(np.clip(round(rng.normal(level + gain, 0.7)), 1, 4))
                          for _ in range(NB)]
                scores = [0 if rng.random() < 0.15 else s for s in scores]  # N/A mixed in
                if i == 7:
                    scores = [0] * NB if rng.random() < 0.2 else scores  # all N/A
                obs.append((o, m, day, hour, scores))
                if i < 8 and rng.random() < 0.2:
                    # Double coding: a second observer on the same session.
                    o2 = (o + 1 + int(rng.integers(0, observers - 1))) % observers
                    s2 = [0 if s == 0 else int(np.clip(s + rng.integers(-1, 2), 1, 4))
                          for s in scores]
                    obs.append((o2, m, day, hour, s2))
                elif i >= 8 and rng.random() < 0.45:
                    # One to three more observers on the same session.
                    others = [x for x in range(observers) if x != o]
                    extra = int(rng.integers(1, per_session))
                    for o2 in rng.choice(others, extra, replace=False):
                        s2 = [0 if s == 0 else int(np.clip(s + rng.integers(-1, 2), 1, 4))
                              for s in scores]
                        obs.append((int(o2), m, day, hour, s2))
        # One record per observer and session, and at most per_session
        # observers on a session.
        seen = {}
        uniq = []
        for o in obs:
            who = seen.setdefault((o[1], o[2], o[3]), set())
            if o[0] not in who and len(who) < per_session:
                who.add(o[0])
                uniq.append(o)
        lines = [f"store {UNTIL} {managers} {observers}"]
        lines += [f"t {m} {d}" for m, d in completed.items()]
        lines += [f"o {o} {m} {d} {h} " + " ".join(map(str, s)) for o, m, d, h, s in uniq]
        lines.append("end")
        cases.append(("\n".join(lines), (managers, observers, completed, uniq)))
    return cases


def cell_of(table, row_label):
    cols = table["columns"]
    for row in table["rows"]:
        if row[0]["text"] == row_label:
            return {c: cell for c, cell in zip(cols, row)}
    return None


def expect_fig(stat, tag, cell, value, n):
    """A figure cell: value with n, or insufficient data below MIN_N."""
    chk.eq(stat + " n", tag, cell["n"], n)
    if n < MIN_N or n == 0:
        chk.eq(stat, tag, cell["insufficient"], True)
        return
    if value is None or not math.isfinite(value):
        chk.eq(stat, tag, cell["text"], "n/a")
        return
    chk.num(stat, tag, cell["value"], value, atol=1e-12)


def programme_reference(case, dash):
    managers, observers, completed, obs = case
    until_m = monday(UNTIL)
    first = until_m - 51 * 7
    last = until_m
    nweeks = 52
    cweek = {m: monday(d) for m, d in completed.items() if d <= UNTIL}
    stacks = sorted({w for w in cweek.values() if first < w <= last})
    by_m = {}
    for idx, (o, m, d, h, s) in enumerate(obs):
        by_m.setdefault(m, []).append((idx, (monday(d) - first) // 7, s))

    def week_index(w):
        return 0 if w <= first else min(nweeks, (w - first) // 7)

    def slot_value(s, b):
        if b < NB:
            return None if s[b] == 0 else float(s[b])
        sc = [x for x in s if x != 0]
        return float(np.mean(sc)) if sc else None

    # rows[design][stack] = list of (manager, cell, obs idx, week, scores)
    rows = {0: {}, 1: {}}
    for m in range(managers):
        cw = cweek.get(m, 0)
        if cw != 0 and cw <= first:
            continue
        if m not in by_m:
            continue
        for sw in stacks:
            split = week_index(sw)
            if cw == sw:
                role, stop = 1, nweeks
            elif cw == 0 or cw > sw:
                role, stop = 2, (nweeks if cw == 0 else week_index(cw))
            else:
                continue
            b_cell, a_cell = (0, 1) if role == 1 else (2, 3)
            spans = {0: ((0, split), (split, nweeks if role == 1 else stop))}
            if split >= 2:
                spans[1] = ((0, split // 2), (split // 2, split))
            for design, ((b0, b1), (a0, a1)) in spans.items():
                for idx, wk, s in by_m[m]:
                    if b0 <= wk < b1:
                        rows[design].setdefault(sw, []).append((m, b_cell, idx, wk, s, split))
                    elif a0 <= wk < a1:
                        rows[design].setdefault(sw, []).append((m, a_cell, idx, wk, s, split))
    counted = {}
    for design in (0, 1):
        counted[design] = []
        for sw in stacks:
            rs = rows[design].get(sw, [])
            nb = sum(1 for r in rs if r[1] == 2 and slot_value(r[4], NB) is not None)
            na = sum(1 for r in rs if r[1] == 3 and slot_value(r[4], NB) is not None)
            if nb > 0 and na > 0:
                counted[design].append(sw)

    def design_slot(design, b):
        y, cell, g, ids = [], [], [], []
        for sw in counted[design]:
            for m, c, idx, wk, s, split in rows[design][sw]:
                v = slot_value(s, b)
                if v is not None:
                    y.append(v)
                    cell.append(c)
                    g.append(m)
                    ids.append(idx)
        return np.array(y), np.array(cell, dtype=int), np.array(g, dtype=int), ids

    def arms(cell, g):
        return (len(set(g[cell < 2].tolist())), len(set(g[cell >= 2].tolist())))

    y, cell, g, ids = design_slot(0, NB)
    nt, nc = arms(cell, g) if len(y) else (0, 0)
    if min(cell.tolist().count(c) for c in range(4)) == 0 if len(y) else True:
        nt, nc = 0, 0
    small = nt < PRIVACY_MIN or nc < PRIVACY_MIN
    tables = {t["id"]: t for t in dash["tables"]}
    labels = [None] * NB + ["Quality index"]
    impact = tables["impact"]
    placebo = tables["placebo"]
    for b in range(NB + 1):
        label = impact["rows"][b][0]["text"] if b < NB else "Quality index"
        tag = f"{label}"
        row = cell_of(impact, label)
        prow = cell_of(placebo, label)
        if small:
            chk.eq("programme privacy", tag, [c["text"] for c in row.values()][1:],
                   [SMALL] * 10)
            chk.eq("programme privacy", tag, [c["text"] for c in prow.values()][1:],
                   [SMALL] * 6)
            continue
        for design, r in ((0, row), (1, prow)):
            y, cell, g, ids = design_slot(design, b)
            cn = [int((cell == c).sum()) for c in range(4)] if len(y) else [0] * 4
            ok = min(cn) > 0
            at, ac = arms(cell, g) if (len(y) and ok) else (0, 0)
            arm = min(at, ac)
            est_cols = (["Difference-in-differences", "95% CI low", "95% CI high",
                         "Effect size (d)"] if design == 0 else
                        ["Placebo difference-in-differences", "95% CI low", "95% CI high"])
            dname = "DiD (clustered), dashboard" if design == 0 else "placebo DiD, dashboard"
            if design == 0:
                for c, col in enumerate(["Trained: before", "Trained: after",
                                         "Not yet trained: before", "Not yet trained: after"]):
                    distinct = len(set(i for i, cc in zip(ids, cell) if cc == c))
                    mean = float(np.mean(y[cell == c])) if cn[c] else None
                    expect_fig("programme cell mean", f"{tag} {col}", r[col], mean, distinct)
            chk.eq("programme managers", tag, r["Trained managers"]["value"], float(at))
            chk.eq("programme managers", tag, r["Not-yet-trained managers"]["value"], float(ac))
            if not ok:
                for col in est_cols:
                    chk.eq(dname, tag + " " + col, r[col]["value"], None)
                continue
            if at < MIN_MANAGERS or ac < MIN_MANAGERS:
                for col in est_cols:
                    chk.eq(dname, tag + " " + col, (r[col]["text"], r[col]["n"]), (FEW, arm))
                continue
            ref = cluster_ols(y, (cell < 2).astype(float), (cell % 2 == 1).astype(float), g)
            est, se, G, _ = ref
            t = t_ref(0.975, G - 1)
            expect_fig(dname, tag, r[est_cols[0]], est, arm)
            expect_fig(dname, tag, r["95% CI low"], est - t * se, arm)
            expect_fig(dname, tag, r["95% CI high"], est + t * se, arm)
            if design == 0:
                if min(cn) >= 2:
                    sds = [float(np.var(y[cell == c], ddof=1)) for c in range(4)]
                    pooled = math.sqrt(sum((cn[c] - 1) * sds[c] for c in range(4)) /
                                       sum(cn[c] - 1 for c in range(4)))
                    expect_fig("effect size, dashboard", tag, r["Effect size (d)"],
                               est / pooled if pooled > 0 else None, arm)
            else:
                flagged = (est - t * se > 0 or est + t * se < 0)
                chk.eq("placebo flag", tag, r["Check"]["text"].startswith("flagged"), flagged)
    # The pre-training trend of the quality index, 4-week bins.
    trend = tables["pretrends"]
    if not small:
        for j in range(6):
            label = f"{4 * j + 1}-{4 * j + 4}"
            r = cell_of(trend, label)
            for arm_i, col in ((1, "Trained"), (2, "Not yet trained")):
                vals = []
                for sw in counted[0]:
                    for m, c, idx, wk, s, split in rows[0][sw]:
                        role = 1 if c < 2 else 2
                        v = slot_value(s, NB)
                        if role == arm_i and v is not None and split - 4 * (j + 1) <= wk < split - 4 * j:
                            vals.append(v)
                expect_fig("pre-training trend", f"{label} {col}", r[col],
                           float(np.mean(vals)) if vals else None, len(vals))


# Sessions in the observers dashboard's window scored by 3 and by 4
# observers, over every store case: the cases must contain some.
crowded = {3: 0, 4: 0}


def observers_reference(case, dash):
    managers, observers, completed, obs = case
    until_m = monday(UNTIL)
    frm = until_m - 11 * 7
    win = [o for o in obs if frm <= monday(o[2]) <= until_m]
    table = {t["id"]: t for t in dash["tables"]}["observers"]
    sessions = {}
    for o in win:
        sessions.setdefault((o[1], o[2], o[3]), []).append(o)
    for size in (3, 4):
        crowded[size] += sum(1 for v in sessions.values() if len(v) == size)
    for k in range(observers):
        name = f"obs.{k}"
        row = cell_of(table, name)
        mine = [o for o in win if o[0] == k]
        n_obs = len(mine)
        dc = sum(1 for o in mine if len(sessions[(o[1], o[2], o[3])]) > 1)
        tag = name
        expect_fig("double-coded share", tag, row["Double-coded share"],
                   dc / n_obs if n_obs else None, n_obs)
        share = row["Double-coded share"]
        if not share.get("insufficient") and share.get("value") is not None:
            chk.eq("double-coded share <= 1", tag, share["value"] <= 1.0, True)
        pa, pb = [], []
        for o in mine:
            for p in sessions[(o[1], o[2], o[3])]:
                if p[0] == k:
                    continue
                for x, y in zip(o[4], p[4]):
                    if x != 0 and y != 0:
                        pa.append(x)
                        pb.append(y)
        pa, pb = np.array(pa), np.array(pb)
        npairs = len(pa)
        expect_fig("agreement, dashboard", tag, row["Double-coded exact"],
                   float(np.mean(pa == pb)) if npairs else None, npairs)
        expect_fig("within one, dashboard", tag, row["Double-coded within one"],
                   float(np.mean(np.abs(pa - pb) <= 1)) if npairs else None, npairs)
        if npairs >= MIN_N:
            got = row["Double-coded kappa"]
            want = kappa_ref(pa, pb, labels=[1, 2, 3, 4])
            chk.num("quadratic kappa, dashboard", tag,
                    None if got["text"] == "n/a" else got["value"], want)
        # Severity drift: the observer's mean on each manager minus the
        # other observers' mean on that manager, weighted by the
        # observer's ratings.
        num = den = peers = 0.0
        covered = 0
        for m in range(managers):
            own = [x for o in mine if o[1] == m for x in o[4] if x != 0]
            if not any(o[1] == m for o in mine):
                continue
            covered += 1
            other = [x for o in win if o[1] == m and o[0] != k for x in o[4] if x != 0]
            if own and other:
                num += len(own) * (np.mean(own) - np.mean(other))
                den += len(own)
                peers += len(other)
        dn = int(min(peers, den))
        expect_fig("severity drift", tag, row["Severity drift"],
                   num / den if den > 0 else None, dn)
        expect_fig("coverage", tag, row["Coverage"], covered / managers, managers)


# ---- Running it -----------------------------------------------------------

def focus_of(hour):
    """The focus stats_ref_dump gives a session at hour (1 process, 2 skill,
    3 human), and its session type (1..6)."""
    return 1 + hour % 3, 1 + (hour // 3) % 6


FOCI = {1: "Process", 2: "Skill", 3: "Human"}
TYPES = {1: "Deal review", 2: "Call review", 3: "Pipeline review", 4: "Account plan",
         5: "Skill practice", 6: "Personal check-in"}
PRIVACY_MIN = 5


def quality_of(s):
    sc = [x for x in s if x != 0]
    return float(np.mean(sc)) if sc else None


def expect_share(stat, tag, cell, part, n):
    expect_fig(stat, tag, cell, None if n == 0 else 100.0 * part / n, n)


def mix_shift_reference(case, dash):
    """Programme impact's mix-shift: trained managers' sessions before and
    from their completion week, the not yet trained before and from the
    median completion week, over the 52 weeks; numpy on the records."""
    managers, observers, completed, obs = case
    until_m = monday(UNTIL)
    first = until_m - 51 * 7
    cweek = {m: monday(d) for m, d in completed.items() if d <= UNTIL}
    trained_weeks = sorted(w for w in cweek.values() if w > first)
    median = trained_weeks[len(trained_weeks) // 2] if trained_weeks else None
    groups = {k: {"managers": set(), "focus": np.zeros(4), "type": np.zeros(7)}
              for k in ("tb", "ta", "ub", "ua")}
    for o, m, d, h, s in obs:
        if monday(d) < first:
            continue
        cw = cweek.get(m)
        if cw is not None and cw <= first:
            continue
        if cw is None and median is None:
            continue
        split = cw if cw is not None else median
        key = ("t" if cw is not None else "u") + ("b" if monday(d) < split else "a")
        f, t = focus_of(h)
        groups[key]["managers"].add(m)
        groups[key]["focus"][f] += 1
        groups[key]["type"][t] += 1
    table = next(t for t in dash["tables"] if t["id"] == "mix-shift")
    names = {"tb": "Trained: before training", "ta": "Trained: after training",
             "ub": "Not yet trained: before the median training week",
             "ua": "Not yet trained: from the median training week"}
    for key, label in names.items():
        row = cell_of(table, label)
        g = groups[key]
        chk.eq("mix shift managers", label, row["Managers"]["value"], len(g["managers"]))
        if len(g["managers"]) < PRIVACY_MIN:
            chk.eq("mix shift small group", label, row["Process"]["text"], "group too small")
            continue
        n = int(g["focus"].sum())
        for f, name in FOCI.items():
            expect_share("mix shift focus share", label, row[name], g["focus"][f], n)
        for t, name in TYPES.items():
            expect_share("mix shift type share", label, row[name], g["type"][t], n)


def manager_mix_reference(case, m, dash):
    """Manager detail's mix-focus, mix-type and quality-focus for manager
    m over the 12 weeks: shares by numpy, quality by focus with
    scipy.stats.t.interval on the observations' quality indexes."""
    managers, observers, completed, obs = case
    until_m = monday(UNTIL)
    first = until_m - 11 * 7
    focus = np.zeros(4)
    types = np.zeros(7)
    q = {f: [] for f in FOCI}
    for o, mm, d, h, s in obs:
        if mm != m or monday(d) < first:
            continue
        f, t = focus_of(h)
        focus[f] += 1
        types[t] += 1
        v = quality_of(s)
        if v is not None:
            q[f].append(v)
    tables = {t["id"]: t for t in dash["tables"]}
    tag = f"flm.{m}"
    n = int(focus.sum())
    row = dict(zip(tables["mix-focus"]["columns"], tables["mix-focus"]["rows"][0]))
    chk.eq("mix sessions", tag, row["Sessions observed"]["value"], n)
    for f, name in FOCI.items():
        expect_share("mix focus share", tag, row[name], focus[f], n)
    row = dict(zip(tables["mix-type"]["columns"], tables["mix-type"]["rows"][0]))
    for t, name in TYPES.items():
        expect_share("mix type share", tag, row[name], types[t], n)
    row = dict(zip(tables["quality-focus"]["columns"], tables["quality-focus"]["rows"][0]))
    for f, name in FOCI.items():
        x = np.array(q[f])
        k = len(x)
        mean = float(x.mean()) if k else None
        lo = hi = None
        if k >= 2:
            se = st.sem(x)
            lo, hi = (mean, mean) if se == 0 else st.t.interval(0.95, k - 1, loc=mean, scale=se)
        expect_fig("quality by focus: mean", tag, row[name], mean, k)
        expect_fig("quality by focus: t-interval", tag, row[name + " 95% CI low"], lo, k)
        expect_fig("quality by focus: t-interval", tag, row[name + " 95% CI high"], hi, k)


def main():
    dump = sys.argv[1]
    simple = []
    simple += [("t", c) for c in t_cases()]
    simple += [("ib", c) for c in ib_cases()]
    simple += [("agree", c) for c in agree_cases()]
    simple += [("table", c) for c in table_cases()]
    simple += [("mean", c) for c in mean_cases()]
    simple += [("did", c) for c in did_cases()]
    simple += [("didc", c) for c in didc_cases()]
    simple += [("corr", c) for c in corr_cases()]
    stores = store_cases()
    text = "".join(line + "\n" for _, (line, _) in simple)
    text += "".join(block + "\n" for block, _ in stores)
    proc = subprocess.run([dump], input=text.encode(), capture_output=True, timeout=500)
    if proc.returncode != 0:
        print(proc.stderr.decode(errors="replace"))
        print(f"stats_reference: {dump} exited {proc.returncode}")
        return 1
    out = proc.stdout
    pos = 0
    lines = []
    for _ in simple:
        nl = out.index(b"\n", pos)
        lines.append(out[pos:nl].decode())
        pos = nl + 1
    raw = {"max": 0.0}
    for (kind, (line, case)), got in zip(simple, lines):
        if got.split()[0] != line.split()[0]:
            chk.failures.append(f"dump out of step at {line[:40]}: {got[:40]}")
            break
        {"t": lambda: t_check(case, got, raw),
         "ib": lambda: ib_check(case, got),
         "agree": lambda: agree_check(case, got),
         "table": lambda: table_check(case, got),
         "mean": lambda: mean_check(case, got),
         "did": lambda: did_check(case, got),
         "didc": lambda: didc_check(case, got),
         "corr": lambda: corr_check(case, got)}[kind]()
    for block, case in stores:
        dashes = []
        for _ in range(2 + case[0]):
            nl = out.index(b"\n", pos)
            head = out[pos:nl].decode()
            pos = nl + 1
            if not head.startswith("json "):
                chk.failures.append(f"store block: {head}")
                break
            size = int(head.split()[1])
            dashes.append(json.loads(out[pos:pos + size]))
            pos += size + 1
        if len(dashes) == 2 + case[0]:
            programme_reference(case, dashes[0])
            observers_reference(case, dashes[1])
            mix_shift_reference(case, dashes[0])
            for m in range(case[0]):
                manager_mix_reference(case, m, dashes[2 + m])
    for size, n in crowded.items():
        chk.eq(f"sessions with {size} observers in the store cases", "all", n > 0, True)
    # The exact quantile, for a sample: mpmath at 40 digits.
    mp_cases = [(p, float(df)) for df in list(10 ** rng.uniform(math.log10(0.5), 6, 60)) +
                [0.5, 1.5, 2.5, 30, 1e6] for p in (0.95, 0.975, 0.995)]
    proc = subprocess.run([dump], input="".join(f"tq {p!r} {df!r}\n" for p, df in mp_cases)
                          .encode(), capture_output=True, timeout=60)
    for (p, df), got in zip(mp_cases, proc.stdout.decode().splitlines()):
        chk.num("t quantile vs mpmath", f"{p} {df}", fnum(got.split()[1]), t_mpmath(p, df))

    print(f"{'statistic':45s} {'checks':>7s}  max relative error")
    for stat in sorted(chk.count):
        print(f"{stat:45s} {chk.count[stat]:7d}  {chk.max_rel.get(stat, 0.0):.3g}")
    print(f"t quantile against SciPy's raw t.ppf: max relative error {raw['max']:.3g} ({T_NOTE})")
    for f in chk.failures[:40]:
        print("FAIL", f)
    total = sum(chk.count.values())
    print(f"stats_reference: {total - len(chk.failures)} passed, {len(chk.failures)} failed")
    return 1 if chk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
