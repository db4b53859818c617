#!/usr/bin/python3
"""Wide categorical benchmark data: many coded survey fields, a rare outcome.

    /usr/bin/python3 bench/wide.py --out wide.csv [--rows 10000] [--seed 7]

Shaped like insurance cross-sell data (e.g. the CoIL 2000 caravan set: about 85 socio-demographic fields
coded in a few levels each, about 6% of customers buying): 85 categorical inputs q01..q85 with 5 to 10
levels ("a", "b", ...), two numeric inputs (age, premium) and the 0/1 target `purchase`, about 6%
positive.  Deterministic: the same options give the same bytes (numpy's PCG64 Generator, seeded; the
file is written with fixed formatting).  Nothing is downloaded and no file is kept in the repository:
bench/peer/peer.py runs this script into its work folder.

How the rows are drawn:
  - each customer has three latent traits z ~ N(0, I) (think wealth, life stage, urbanity);
  - field j (j = 1..85) has L_j = 5 + (j - 1) mod 6 levels; its level is drawn from
    softmax(base_j + load_j z), base_j ~ N(0, 0.7^2) per level; load_j (L_j x 3) ~ N(0, 0.8^2) for
    the first 60 fields, which therefore carry the traits in correlated ways, and 0 for the last 25
    (pure noise);
  - age = 45 + 12 z_1 + noise, premium = exp(4 + 0.4 z_0 + noise), both rounded;
  - purchase ~ Bernoulli(sigmoid(b + 1.1 z_0 - 0.7 z_1 + sum over 12 fields of e_j[level]
    + 0.9 [q07 = "a" and q23 = "b"])), e_j ~ N(0, 0.5^2): a signal in the traits (which the
    correlated fields reveal only together), in some fields' own levels and in one interaction; b is
    set by bisection so that the mean probability is 6%.
"""
import argparse

import numpy as np

N_FIELDS, N_LOADED, N_DIRECT = 85, 60, 12
RATE = 0.06


def generate(rows, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, 3))
    levels, cols = [], []
    for j in range(N_FIELDS):
        L = 5 + j % 6
        base = rng.normal(0.0, 0.7, L)
        load = rng.normal(0.0, 0.8, (L, 3)) if j < N_LOADED else np.zeros((L, 3))
        logits = base[None, :] + z @ load.T
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        u = rng.random(rows)
        lev = np.minimum((p.cumsum(axis=1) < u[:, None]).sum(axis=1), L - 1)
        levels.append(L)
        cols.append(lev)
    age = np.clip(np.rint(45 + 12 * z[:, 1] + rng.normal(0, 6, rows)), 18, 90).astype(int)
    premium = np.rint(np.exp(4.0 + 0.4 * z[:, 0] + rng.normal(0, 0.3, rows))).astype(int)
    direct = rng.choice(N_FIELDS, N_DIRECT, replace=False)
    eta = 1.1 * z[:, 0] - 0.7 * z[:, 1]
    for j in direct:
        eta = eta + rng.normal(0.0, 0.5, levels[j])[cols[j]]
    eta = eta + 0.9 * ((cols[6] == 0) & (cols[22] == 1))
    lo, hi = -12.0, 4.0
    for _ in range(80):  # the intercept giving a mean probability of RATE
        b = 0.5 * (lo + hi)
        if (1.0 / (1.0 + np.exp(-(b + eta)))).mean() < RATE:
            lo = b
        else:
            hi = b
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(b + eta)))).astype(int)
    return cols, age, premium, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("--rows", type=int, default=10000, help="customers (default 10000)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    a = ap.parse_args()
    if a.rows < 10:
        ap.error("--rows must be at least 10")
    cols, age, premium, y = generate(a.rows, a.seed)
    letters = "abcdefghij"
    with open(a.out, "w", encoding="ascii", newline="") as fh:
        fh.write(",".join([f"q{j + 1:02d}" for j in range(N_FIELDS)] + ["age", "premium", "purchase"]) + "\n")
        for i in range(a.rows):
            fh.write(",".join([letters[c[i]] for c in cols] + [str(age[i]), str(premium[i]), str(y[i])]) + "\n")


if __name__ == "__main__":
    main()
