"""Scoring from Python against the C CLI: bit-identical probabilities, the same call list, zero-copy
input, thread safety, column matching and unseen categories."""

import json
import threading
import unittest

import numpy as np
import pandas as pd

import _fixture
import propensity
from propensity import PropensityError, _lib


def hexes(a):
    return [float(x).hex() for x in a]


class CliAgreement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = _fixture.get()
        cls.m = propensity.Model.load(cls.d.model)
        # month is the model's time column: known to the library but not exposed by the C API, so to
        # the binding it is an extra column (see test_extra_time_column)
        cls.calls = _fixture.read_csv(cls.d.calllist).drop(columns=["month"])
        cls.cli = pd.read_csv(cls.d.ranked, dtype=str, keep_default_na=False)

    def test_cli_output_is_what_we_think(self):
        self.assertEqual(list(self.cli.columns[:7]),
                         ["id", "probability", "band", "rank", "error", "dialer_rank", "selected"])
        self.assertEqual(len(self.cli), len(self.calls))
        self.assertTrue((self.cli["error"] == "").all())

    def test_dataframe_probabilities_bit_identical_to_cli(self):
        p = self.m.predict_proba(self.calls)
        cli_p = [float(s) for s in self.cli["probability"]]  # printed with %.17g: exact
        self.assertEqual(hexes(p), hexes(cli_p))
        self.assertEqual(self.m.bands(self.calls).tolist(), [int(b) for b in self.cli["band"]])

    def test_dense_probabilities_bit_identical_to_cli(self):
        X = self.m.to_dense(self.calls)
        self.assertEqual(X.shape, (len(self.calls), len(self.m.inputs)))
        cli_p = [float(s) for s in self.cli["probability"]]
        self.assertEqual(hexes(self.m.predict_proba(X)), hexes(cli_p))
        # single-threaded, other block sizes: the same bits
        self.assertEqual(hexes(self.m.predict_proba(X, nthread=1)), hexes(cli_p))

    def test_monitor_matches_cli(self):
        out = self.d.dir / "monitor.json"
        _fixture.run_cli("monitor", "--model", self.d.model, "--data", self.d.latest, "--target", "accepted",
                         "--time-col", "month", "--json", out)
        cli = json.loads(out.read_text())
        self.assertTrue(self.m.has_reference)
        mine = self.m.monitor(_fixture.read_csv(self.d.latest), target="accepted", time_col="month")
        for key in ("score_psi", "status", "inputs", "bands", "outcome", "periods", "rows", "reference_rows"):
            self.assertEqual(mine[key], cli[key], key)
        with self.assertRaises(PropensityError) as cm:
            self.m.monitor(_fixture.read_csv(self.d.latest).drop(columns=["income"]))
        self.assertEqual(cm.exception.status, "PROP_ERR_SCHEMA")
        self.assertIn("income", str(cm.exception))

    def test_explain_and_reasons_match_cli(self):
        calls = self.calls.head(40)
        E = self.m.explain(calls)
        self.assertEqual(list(E.columns), list(self.m.inputs) + ["base"])
        # base + contributions = the uncalibrated log-odds (logit vote: the weighted mean of log-odds)
        v = self.m.predict_proba(calls, uncalibrated=True)
        total = E.drop(columns=["base"]).sum(axis=1).to_numpy() + E["base"].to_numpy()
        self.assertTrue(np.allclose(1 / (1 + np.exp(-total)), v, rtol=1e-9, atol=1e-12))
        self.assertTrue(np.allclose(E.to_numpy(), self.m.explain(self.m.to_dense(calls)).to_numpy(), equal_nan=True))
        # reasons: the CLI's file, bytes included
        src = self.d.dir / "calls40.csv"
        _fixture.read_csv(self.d.calllist).head(40).to_csv(src, index=False)
        out = self.d.dir / "reasons_cli.csv"
        _fixture.run_cli("score", "--model", self.d.model, "--data", src, "--out", out, "--reasons", 2,
                         "--order", "input")
        cli = pd.read_csv(out, dtype=str, keep_default_na=False)
        r = self.m.predict_proba(calls, reasons=2)
        self.assertEqual(list(r.columns), ["probability", "reason_1", "reason_2"])
        self.assertEqual([x or "" for x in r["reason_1"]], cli["reason_1"].tolist())
        self.assertEqual([x or "" for x in r["reason_2"]], cli["reason_2"].tolist())
        self.assertEqual(hexes(r["probability"]), hexes([float(x) for x in cli["probability"]]))

    def test_uncalibrated_vote(self):
        # the vote before the isotonic calibrator: the same on both input paths, different from the calibrated
        # probabilities, and mapped onto them by a non-decreasing function
        X = self.m.to_dense(self.calls)
        v = self.m.predict_proba(X, uncalibrated=True)
        self.assertEqual(hexes(v), hexes(self.m.predict_proba(self.calls, uncalibrated=True)))
        p = self.m.predict_proba(X)
        self.assertGreater(int(np.sum(v != p)), len(p) // 2)
        o = np.argsort(v, kind="stable")
        self.assertTrue(np.all(np.diff(p[o]) >= 0))
        self.assertTrue(np.all((v >= 0) & (v <= 1)))

    def test_rank_matches_cli_call_list(self):
        r = self.m.rank(self.calls, order="input")
        self.assertEqual(r["id"].tolist(), self.cli["id"].tolist())
        self.assertEqual(r["rank"].tolist(), [int(x) for x in self.cli["rank"]])
        self.assertEqual(r["dialer_rank"].tolist(), [int(x) for x in self.cli["dialer_rank"]])
        self.assertEqual(r["selected"].astype(int).tolist(), [int(x) for x in self.cli["selected"]])
        by_rank = self.m.rank(self.calls)
        self.assertEqual(by_rank["rank"].tolist(), list(range(1, len(self.calls) + 1)))
        self.assertTrue((np.diff(by_rank["probability"].to_numpy()) <= 0).all())
        # the library's layout, and with out= the CLI's bytes
        self.assertEqual(list(by_rank.columns), list(self.cli.columns))
        out = self.d.dir / "py_ranked.csv"
        self.m.rank(self.calls, out=out)
        cli_out = self.d.dir / "cli_ranked_bytes.csv"
        _fixture.run_cli("score", "--model", self.d.model, "--data", self.d.calllist, "--out", cli_out)
        self.assertEqual(out.read_bytes(), cli_out.read_bytes())

    def test_rank_by_value_with_capacity_matches_cli(self):
        out = self.d.dir / "value.csv"
        _fixture.run_cli("score", "--model", self.d.model, "--data", self.d.calllist, "--out", out,
                         "--rank-by", "value", "--value-col", "credit_limit", "--capacity", 100)
        cli = pd.read_csv(out, dtype=str, keep_default_na=False)
        r = self.m.rank(self.calls, by="value", value_col="credit_limit", capacity=100)
        self.assertEqual(r["id"].tolist(), cli["id"].tolist())
        self.assertEqual(int(r["selected"].sum()), 100)
        self.assertEqual(hexes(r["expected_value"]), hexes([float(x) for x in cli["expected_value"]]))
        self.assertEqual(r["dialer_rank"].tolist(), [int(x) for x in cli["dialer_rank"]])

    def test_rank_ids(self):
        calls = self.calls.head(6).copy()
        idc = self.m.id_column
        with self.assertRaises(PropensityError) as cm:  # row numbers would pass for customer ids
            self.m.rank(calls.drop(columns=[idc]))
        self.assertEqual(cm.exception.status, "PROP_ERR_SCHEMA")
        self.assertIn(idc, str(cm.exception))
        r = self.m.rank(calls.drop(columns=[idc]), ids=["a", "b", "c", "d", "e", "f"], order="input")
        self.assertEqual(r["id"].tolist(), ["a", "b", "c", "d", "e", "f"])
        calls[idc] = calls[idc].astype(object)
        calls.iloc[2, calls.columns.get_loc(idc)] = None  # nobody to call
        r = self.m.rank(calls, order="input")
        self.assertTrue(np.isnan(r["probability"].iloc[2]))
        self.assertEqual((int(r["band"].iloc[2]), int(r["rank"].iloc[2]), bool(r["selected"].iloc[2])), (0, 0, False))
        self.assertEqual(sorted(r["rank"].tolist()), [0, 1, 2, 3, 4, 5])

    def test_band_quota(self):
        q = [5] * self.m.n_bands
        r = self.m.rank(self.calls, band_quota=q)
        per_band = r[r["selected"]].groupby("band").size()
        self.assertTrue((per_band <= 5).all())
        self.assertEqual(int(r["selected"].sum()), int(per_band.sum()))
        with self.assertRaises(PropensityError) as cm:
            self.m.rank(self.calls, band_quota=[1, 2])
        self.assertEqual(cm.exception.status, "PROP_ERR_ARG")

    def test_rank_arguments_and_infinite_values(self):
        calls = self.calls.head(40).copy()
        # capacity 0 calls nobody (the order stands); fractions, NaN, text and negatives are refused
        r0, r_all = self.m.rank(calls, capacity=0), self.m.rank(calls)
        self.assertEqual(int(r0["selected"].sum()), 0)
        self.assertTrue((r0["dialer_rank"] == 0).all())
        self.assertEqual(r0["id"].tolist(), r_all["id"].tolist())
        for bad in (2.7, -1, float("nan"), "5", True):
            with self.assertRaises(PropensityError) as cm:
                self.m.rank(calls, capacity=bad)
            self.assertEqual(cm.exception.status, "PROP_ERR_ARG")
        for q in ([1.9] * self.m.n_bands, [np.nan] * self.m.n_bands, [None] * self.m.n_bands, ["x"] * self.m.n_bands):
            with self.assertRaises(PropensityError):
                self.m.rank(calls, band_quota=q)
        self.assertEqual(int(self.m.rank(calls, capacity=3.0)["selected"].sum()), 3)
        # an infinite value leaves the row unscored, as `propensity score` does; text is an error
        calls["value"] = calls["credit_limit"].astype(float)
        calls.iloc[3, calls.columns.get_loc("value")] = np.inf
        r = self.m.rank(calls, by="value", value_col="value", order="input", ignore_extra=True)
        self.assertTrue(np.isnan(r["probability"].iloc[3]))
        self.assertEqual((int(r["rank"].iloc[3]), bool(r["selected"].iloc[3])), (0, False))
        self.assertEqual(int(r["selected"].sum()), 39)
        calls["value"] = calls["value"].astype(object)
        calls.iloc[5, calls.columns.get_loc("value")] = "lots"
        with self.assertRaises(PropensityError) as cm:
            self.m.rank(calls, by="value", value_col="value", ignore_extra=True)
        self.assertIn("'value'", cm.exception.message)
        # a (n, 1) array of values is one value per row
        v = calls["credit_limit"].to_numpy(dtype=float).reshape(-1, 1)
        r2 = self.m.rank(calls.drop(columns=["value"]), by="value", value_col=v)
        self.assertEqual(len(r2), len(calls))

    def test_mixed_object_labels_do_not_depend_on_row_order(self):
        # pandas hashes 1, 1.0 and True alike; each value must still be sent as its own str()
        cat = next(n for n, t in self.m.input_types.items() if t == "categorical")
        base = self.calls.head(3).copy()
        known = self.m.categories[cat][0]
        a, b = base.copy(), base.copy()
        a[cat] = pd.Series([known, 1, 1.0], dtype=object, index=base.index)
        b[cat] = pd.Series([known, 1.0, 1], dtype=object, index=base.index)
        sa, sb = self.m.score(a, unseen="bucket")[0], self.m.score(b, unseen="bucket")[0]
        self.assertEqual(hexes(sa[[0]]), hexes(sb[[0]]))
        self.assertEqual(self.m.unseen_categories(a)[cat], self.m.unseen_categories(b)[cat])
        self.assertEqual(sorted(self.m.unseen_categories(a)[cat]), ["1", "1.0"])

    def test_band_table_matches_cli(self):
        js = self.d.dir / "bands.json"
        _fixture.run_cli("bands", "--model", self.d.model, "--data", self.d.latest, "--connected", "connected",
                         "--json", js)
        cli = json.loads(js.read_text())["bands"]
        bt = self.m.band_table(_fixture.read_csv(self.d.latest), connected="connected")
        self.assertEqual(bt["count"].tolist(), [b["count"] for b in cli])
        self.assertEqual(bt["positives"].tolist(), [b["positives"] for b in cli])
        for mine, theirs in zip(bt.itertuples(), cli):
            if theirs["success_rate"] is not None:
                self.assertEqual(mine.success_rate.hex(), float(theirs["success_rate"]).hex())
                self.assertEqual(mine.connect_rate.hex(), float(theirs["connect_rate"]).hex())
        self.assertEqual(bt.attrs["n_unscored"], 0)
        self.assertAlmostEqual(bt["share"].sum(), 1.0, places=12)

    def test_band_table_refuses_a_third_label(self):
        # a typo in a 0/1 outcome column is an error naming the row, never a silent 0
        latest = _fixture.read_csv(self.d.latest)
        self.assertEqual(self.m.negative_label, "0")
        bad = latest.assign(accepted=latest["accepted"].astype(object))
        bad.loc[bad.index[3], "accepted"] = "yes"
        for call in (lambda: self.m.band_table(bad), lambda: self.m.permutation_importance(bad, repeats=1)):
            with self.assertRaises(PropensityError) as cm:
                call()
            self.assertIn(":4:accepted: label 'yes' is neither the positive label '1' nor the negative '0'",
                          cm.exception.message)

    def test_extra_time_column(self):
        # the training's time column is known to the model (prop_model_time_column): accepted as it is
        self.assertEqual(self.m.time_column, "month")
        full = _fixture.read_csv(self.d.calllist)
        self.assertEqual(hexes(self.m.predict_proba(full)), hexes(self.m.predict_proba(self.calls)))
        # a column the model has never heard of still raises, naming it
        odd = full.assign(shoe_size=1.0)
        with self.assertRaises(PropensityError) as cm:
            self.m.predict_proba(odd)
        self.assertIn("'shoe_size'", cm.exception.message)
        self.assertEqual(hexes(self.m.predict_proba(odd, ignore_extra=True)), hexes(self.m.predict_proba(self.calls)))

    def test_inspection(self):
        m = self.m
        self.assertEqual(m.id_column, "customer_id")
        self.assertEqual(m.target, "accepted")
        self.assertEqual(m.positive_label, "1")
        self.assertEqual(m.n_bands, 7)
        self.assertEqual(m.band_edges.tolist(), [0, .1, .2, .3, .4, .5, .7, 1])
        for c in ("customer_id", "accepted", "connected", "month", "installment_amount"):
            self.assertNotIn(c, m.inputs)
        self.assertIn("past_installments", m.inputs)
        meta = m.metadata
        self.assertEqual(meta["library_version"], propensity.__version__)
        self.assertEqual([i["name"] for i in meta["inputs"]], m.inputs)
        imp = m.importance()
        self.assertEqual(imp.index.tolist(), m.inputs)
        self.assertTrue((imp >= 0).all() and imp.sum() > 0)
        self.assertEqual(m.band_of(0.05), 1)
        self.assertEqual(m.band_of(0.99), 7)
        self.assertEqual(m.band_of(float("nan")), 0)

    def test_permutation_importance(self):
        latest = _fixture.read_csv(self.d.latest)
        a = self.m.permutation_importance(latest, repeats=2, seed=9)
        b = self.m.permutation_importance(latest, repeats=2, seed=9)
        self.assertEqual(a.index.tolist(), self.m.inputs)
        self.assertEqual(hexes(a), hexes(b))  # seeded
        self.assertGreater(a.attrs["base_auc"], 0.5)
        self.assertTrue((a.to_numpy() > -0.5).all() and (a.to_numpy() < 0.5).all())


class Inputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = _fixture.get()
        cls.m = propensity.Model.load(cls.d.model)
        cls.calls = _fixture.read_csv(cls.d.calllist).drop(columns=["month"])
        cls.X = cls.m.to_dense(cls.calls)
        cls.p = cls.m.predict_proba(cls.X)

    def _record_pointer(self):
        """Wrap prop_model_predict_dense to record the X pointer and row stride it receives."""
        L = _lib.lib()
        real = L.prop_model_predict_dense
        seen = []

        def spy(m, X, dtype, n, k, stride, *rest):
            seen.append((X, dtype, stride))
            return real(m, X, dtype, n, k, stride, *rest)
        L.prop_model_predict_dense = spy
        self.addCleanup(setattr, L, "prop_model_predict_dense", real)
        return seen

    def test_zero_copy_float32(self):
        X32 = np.ascontiguousarray(self.X, dtype=np.float32)
        seen = self._record_pointer()
        p32 = self.m.predict_proba(X32)
        self.assertEqual(seen, [(X32.ctypes.data, _lib.FLOAT32, X32.shape[1])])
        arr, code, stride = propensity._frames.as_dense(X32)
        self.assertIs(arr, X32)
        self.assertTrue(np.shares_memory(arr, X32))
        # float32 rows: the same bits as the library gives float64 rows holding the same values
        self.assertEqual(hexes(p32), hexes(self.m.predict_proba(X32.astype(np.float64))))

    def test_zero_copy_float64_and_row_slices(self):
        seen = self._record_pointer()
        self.m.predict_proba(self.X)
        self.assertEqual(seen[-1], (self.X.ctypes.data, _lib.FLOAT64, self.X.shape[1]))
        # every other row of a wider matrix: read in place with a row stride
        k = self.X.shape[1]
        wide = np.zeros((len(self.X) * 2, k + 3))
        wide[::2, :k] = self.X
        view = wide[::2, :k]
        p = self.m.predict_proba(view)
        self.assertEqual(seen[-1], (view.ctypes.data, _lib.FLOAT64, 2 * (k + 3)))
        self.assertEqual(hexes(p), hexes(self.p))

    def test_other_layouts_copied_once_same_answer(self):
        seen = self._record_pointer()
        F = np.asfortranarray(self.X)
        self.assertEqual(hexes(self.m.predict_proba(F)), hexes(self.p))
        self.assertNotEqual(seen[-1][0], F.ctypes.data)
        self.assertEqual(hexes(self.m.predict_proba(self.X.tolist())), hexes(self.p))
        self.assertEqual(len(self.m.predict_proba(np.empty((0, self.X.shape[1])))), 0)

    def test_threads_give_identical_results(self):
        X32 = np.ascontiguousarray(np.tile(self.X, (20, 1)), dtype=np.float32)
        ref = self.m.predict_proba(X32, nthread=1)
        out = [None] * 8
        errors = []
        start = threading.Barrier(8)

        def work(i):
            try:
                start.wait()
                res = []
                for _ in range(3):
                    res.append(self.m.predict_proba(X32, nthread=1))
                    res.append(self.m.predict_proba(self.calls))
                out[i] = res
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        for res in out:
            for a, b in zip(res[0::2], res[1::2]):
                self.assertTrue(np.array_equal(a, ref))
                self.assertEqual(hexes(b), hexes(self.p))

    def test_dtype_mapping(self):
        df = self.calls.copy()
        # bool and nullable ints are numeric; category / string dtypes are categorical
        for c, t in self.m.input_types.items():
            if t == "categorical":
                df[c] = df[c].astype("category")
        self.assertEqual(hexes(self.m.predict_proba(df)), hexes(self.p))
        num = [c for c, t in self.m.input_types.items() if t == "numeric"]
        df2 = self.calls.copy()
        df2[num[0]] = df2[num[0]].astype("Float64")
        self.assertEqual(hexes(self.m.predict_proba(df2)), hexes(self.p))
        df3 = self.calls.copy()
        df3[num[0]] = pd.Series(pd.to_datetime(0), index=df3.index)
        with self.assertRaises(PropensityError) as cm:
            self.m.predict_proba(df3)
        self.assertEqual(cm.exception.status, "PROP_ERR_SCHEMA")
        self.assertIn(num[0], cm.exception.message)

    def test_missing_and_extra_columns(self):
        cats = [c for c, t in self.m.input_types.items() if t == "categorical"]
        num = [c for c, t in self.m.input_types.items() if t == "numeric"]
        with self.assertRaises(PropensityError) as cm:
            self.m.predict_proba(self.calls.drop(columns=[cats[0], num[0]]))
        self.assertEqual(cm.exception.code, _lib.PROP_ERR_SCHEMA)
        self.assertIn(f"'{cats[0]}'", cm.exception.message)
        self.assertIn(f"'{num[0]}'", cm.exception.message)
        extra = self.calls.assign(campaign="spring", other=1.0)
        with self.assertRaises(PropensityError) as cm:
            self.m.predict_proba(extra)
        self.assertIn("'campaign'", cm.exception.message)
        self.assertIn("'other'", cm.exception.message)
        self.assertEqual(hexes(self.m.predict_proba(extra, ignore_extra=True)), hexes(self.p))
        # input columns in another order: matched by name
        shuffled = self.calls[list(reversed(self.calls.columns))]
        self.assertEqual(hexes(self.m.predict_proba(shuffled)), hexes(self.p))

    def test_unseen_categories(self):
        cats = [c for c, t in self.m.input_types.items() if t == "categorical"]
        self.assertTrue(cats, "the demo model has categorical inputs")
        self.assertEqual(self.m.unseen_categories(self.calls), {})
        c = cats[0]
        df = self.calls.copy()
        df.loc[df.index[:3], c] = ["brand-new", "brand-new", "zzz"]
        self.assertEqual(self.m.unseen_categories(df), {c: ["brand-new", "zzz"]})
        # strict: such rows are not scored (PROP_ERR_CATEGORY); the others are as before
        prob, band, st = self.m.score(df, unseen="error")
        self.assertEqual(st[:3].tolist(), [_lib.PROP_ERR_CATEGORY] * 3)
        self.assertTrue(np.isnan(prob[:3]).all())
        self.assertEqual(band[:3].tolist(), [0, 0, 0])
        self.assertEqual(hexes(prob[3:]), hexes(self.p[3:]))
        p = self.m.predict_proba(df)  # by default: scored through the <other> bucket
        self.assertTrue(np.isfinite(p).all())
        self.assertEqual(hexes(p[3:]), hexes(self.p[3:]))
        self.assertEqual(hexes(self.m.predict_proba(df, unseen="bucket")), hexes(p))
        # the dense path gives the same: unseen labels are code -1
        X = self.m.to_dense(df)
        self.assertEqual(X[0, self.m.inputs.index(c)], -1.0)
        self.assertEqual(hexes(self.m.predict_proba(X)), hexes(p))
        self.assertTrue(np.isnan(self.m.predict_proba(X, unseen="error")[:3]).all())
        r = self.m.rank(df, order="input", unseen="error")
        self.assertEqual(r["rank"].iloc[:3].tolist(), [0, 0, 0])
        self.assertIn("was not seen in training", r["error"].iloc[0])
        r = self.m.rank(df, order="input")
        self.assertTrue((r["rank"] > 0).all())
        self.assertEqual(r.attrs["unseen_categories"], {c: 3})
        with self.assertRaises(PropensityError) as cm:
            self.m.score(df, unseen="ignore")
        self.assertEqual(cm.exception.status, "PROP_ERR_ARG")
        self.assertEqual(self.m.category_codes(c, [self.m.categories[c][1], None, "brand-new"]).tolist()[0::2],
                         [1.0, -1.0])

    def test_unscorable_dense_rows(self):
        X = self.X[:5].copy()
        X[1, 0] = np.inf
        cats = [j for j, t in enumerate(self.m.input_types.values()) if t == "categorical"]
        X[3, cats[0]] = 0.5  # not a code
        prob, band, st = self.m.score(X)
        self.assertTrue(np.isnan(prob[[1, 3]]).all())
        self.assertEqual(band[[1, 3]].tolist(), [0, 0])
        self.assertEqual(st.tolist(), [0, _lib.PROP_ERR_VALUE, 0, _lib.PROP_ERR_VALUE, 0])
        self.assertEqual(hexes(prob[[0, 2, 4]]), hexes(self.p[[0, 2, 4]]))
        r = self.m.rank(X)
        self.assertEqual(r.loc[[1, 3], "rank"].tolist(), [0, 0])
        self.assertEqual(r.index[-2:].tolist(), [1, 3])  # unscored rows last


if __name__ == "__main__":
    unittest.main()
