#!/usr/bin/python3
"""How many of the knn member's distance computations could an exact lower bound skip?

The ensemble's batch rate on lending_club is bound by the knn member (k = 100, uniform), which
computes the distance of every test row to every training row.  An exact method may skip a pair
only when a lower bound of its distance already exceeds the query's k-th nearest distance.  This
script measures, on the recipe's encoding (median imputation, standardised numeric columns, one-hot
categories) of a stratified 70/30 split (seed 0), the share of pairs that such bounds leave to
compute, each with the true k-th distance as the threshold (the most any scan order could reach):

  - onehot: the categorical part of the distance alone (2 per differing category);
  - pca-M + onehot: the distance in the training rows' first M principal components of the numeric
    part (a projection never lengthens a difference) plus the exact categorical part;
  - pca-M alone, pair by pair and per leaf of a k-d tree on those components (box bound);
  - k-means clusters (triangle inequality per row: |d(q,c) - d(a,c)|, numeric and categorical).

Usage: /usr/bin/python3 bench/knn_bounds.py [--data bench/data/lending_club.csv --target Class]
"""
import argparse

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.model_selection import train_test_split


def encode(frame, target, test_frac, seed):
    y = frame.pop(target).astype(str).values
    cat = [c for c in frame.columns if frame[c].dtype == object]
    num = [c for c in frame.columns if c not in cat]
    tr, te = train_test_split(np.arange(len(frame)), test_size=test_frac, stratify=y, random_state=seed)
    x = frame[num].astype(float)
    miss = x.isna().values
    x = x.fillna(x.iloc[tr].median()).values
    mu, sd = x[tr].mean(0), x[tr].std(0)
    sd[sd == 0] = 1
    xn = np.hstack([(x - mu) / sd, miss[:, miss[tr].any(0)].astype(float)])
    codes = np.stack([frame[c].fillna("<missing>").astype("category").cat.codes.values for c in cat], 1) \
        if cat else np.zeros((len(frame), 0), int)
    return xn[tr], xn[te], codes[tr], codes[te], len(num), len(cat)


def sqdist(p, q):
    return np.maximum((p ** 2).sum(1)[:, None] + (q ** 2).sum(1)[None, :] - 2 * p @ q.T, 0)


def onehot_dist(cq, ca):
    return 2.0 * (cq[:, None, :] != ca[None, :, :]).sum(2)


def kd_leaves(z, ids, leaf, out):
    if len(ids) <= leaf:
        out.append(ids)
        return
    lo, hi = z[ids].min(0), z[ids].max(0)
    j = int(np.argmax(hi - lo))
    o = ids[np.argsort(z[ids, j], kind="stable")]
    kd_leaves(z, o[: len(o) // 2], leaf, out)
    kd_leaves(z, o[len(o) // 2:], leaf, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="bench/data/lending_club.csv")
    ap.add_argument("--target", default="Class")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--test-frac", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    an, bn, ac, bc, n_num, n_cat = encode(pd.read_csv(a.data), a.target, a.test_frac, a.seed)
    print(f"{a.data}: {len(an)} training rows, {len(bn)} test rows, {an.shape[1]} numeric columns "
          f"(with missing indicators), {n_cat} categorical features; k = {a.k}")
    d_num, d_cat = sqdist(bn, an), onehot_dist(bc, ac)
    d = d_num + d_cat
    kth = np.partition(d, a.k - 1, axis=1)[:, a.k - 1][:, None]
    print(f"k-th distance (median over queries) {np.median(kth):.2f}; median distance {np.median(d):.2f}")
    print("share of pairs a bound leaves to compute (lower = better):")
    print(f"  onehot alone                 {np.mean(d_cat <= kth):.3f}")

    w, v = np.linalg.eigh(np.cov(an.T))
    v = v[:, ::-1]
    for m in (2, 4, 6, 8, 12):
        if m > an.shape[1]:
            break
        p = v[:, :m]
        d_pca = sqdist(bn @ p, an @ p)
        print(f"  pca-{m:<2d} + onehot, per pair   {np.mean(d_pca + d_cat <= kth):.3f}   "
              f"(pca-{m} alone {np.mean(d_pca <= kth):.3f})")
    for m in (4, 8):
        p = v[:, :m]
        za, zb = an @ p, bn @ p
        for leaf in (16, 64):
            leaves = []
            kd_leaves(za, np.arange(len(za)), leaf, leaves)
            lo = np.array([za[i].min(0) for i in leaves])
            hi = np.array([za[i].max(0) for i in leaves])
            size = np.array([len(i) for i in leaves])
            gap = np.maximum(0, np.maximum(lo[None] - zb[:, None], zb[:, None] - hi[None]))
            keep = (gap ** 2).sum(2) <= kth
            print(f"  pca-{m} k-d tree, {leaf:2d}-row leaves {(keep * size[None]).sum() / d.size:.3f}")

    for nc in (32, 128, 256):
        km = KMeans(n_clusters=nc, n_init=1, random_state=a.seed).fit(an)
        c = km.cluster_centers_
        # clusters of the numeric part; its distance is at least |d(q,c) - d(a,c)| (triangle
        # inequality), and the categorical part of the pair is added exactly
        dqc = np.sqrt(sqdist(bn, c))
        dac = np.sqrt(((an - c[km.labels_]) ** 2).sum(1))
        lb = np.abs(dqc[:, km.labels_] - dac[None, :]) ** 2 + d_cat
        print(f"  k-means {nc:3d} clusters + onehot  {np.mean(lb <= kth):.3f}")


if __name__ == "__main__":
    main()
