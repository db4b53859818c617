"""Training from pandas, recipes in every form, model bytes and files, pickling, callbacks."""

import json
import pickle
import unittest

import numpy as np
import pandas as pd

import _fixture
import propensity
from propensity import PropensityError


def hexes(a):
    return [float(x).hex() for x in a]


class Train(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = _fixture.get()
        cls.hist = _fixture.read_csv(cls.d.history)
        cls.calls = _fixture.read_csv(cls.d.calllist).drop(columns=["month"])

    def test_python_training_equals_cli_training(self):
        """The same CSV read by pandas and trained with the same recipe gives the model the CLI made:
        the same inputs and bit-identical scores."""
        logs = []
        m = propensity.Model.train(self.hist, recipe=str(_fixture.RECIPE), log=lambda lv, msg: logs.append(msg),
                                   **self.d.train_args)
        cli = propensity.Model.load(self.d.model)
        self.assertEqual(m.inputs, cli.inputs)
        self.assertEqual(m.input_types, cli.input_types)
        self.assertEqual(m.categories, cli.categories)
        self.assertEqual(m.members, cli.members)
        self.assertEqual(hexes(m.predict_proba(self.calls)), hexes(cli.predict_proba(self.calls)))
        self.assertEqual(m.metadata["rows"], len(self.hist))

    def test_recipe_forms_and_bytes_round_trip(self):
        df = self.hist.head(400)
        as_dict = propensity.Model.train(df, recipe=_fixture.FAST_RECIPE, **self.d.train_args)
        as_text = propensity.Model.train(df, recipe=json.dumps(_fixture.FAST_RECIPE), **self.d.train_args)
        p = self.d.dir / "fast.json"
        p.write_text(json.dumps(_fixture.FAST_RECIPE))
        as_path = propensity.Model.train(df, recipe=p, **self.d.train_args)
        ref = as_dict.predict_proba(self.calls)
        self.assertEqual(hexes(as_text.predict_proba(self.calls)), hexes(ref))
        self.assertEqual(hexes(as_path.predict_proba(self.calls)), hexes(ref))
        self.assertEqual(as_dict.metadata["recipe"]["name"], "fast")
        canon = propensity.recipe_json(_fixture.FAST_RECIPE)
        self.assertEqual(canon["cv_folds"], 3)
        self.assertIn("members", propensity.recipe_json(None))
        # bytes, files and pickle give back the same model
        b = as_dict.to_bytes()
        self.assertEqual(b[:8], b"PROPMODL")
        self.assertEqual(hexes(propensity.Model.from_bytes(b).predict_proba(self.calls)), hexes(ref))
        self.assertEqual(hexes(propensity.Model.from_bytes(bytearray(b)).predict_proba(self.calls)), hexes(ref))
        f = self.d.dir / "fast.model"
        as_dict.save(f)
        self.assertEqual(hexes(propensity.Model.load(f).predict_proba(self.calls)), hexes(ref))
        self.assertEqual(hexes(pickle.loads(pickle.dumps(as_dict)).predict_proba(self.calls)), hexes(ref))

    def test_dtypes_in_training(self):
        df = self.hist.head(400).copy()
        df["vip"] = (df["credit_limit"] > df["credit_limit"].median())  # bool -> numeric 0/1
        df["segment"] = pd.Categorical(np.where(df["vip"], "A", "B"))  # category -> categorical
        df["accepted"] = df["accepted"].map({0: "no", 1: "yes"})
        args = dict(self.d.train_args, positive="yes")
        m = propensity.Model.train(df, recipe=_fixture.FAST_RECIPE, **args)
        self.assertEqual(m.input_types["vip"], "numeric")
        self.assertEqual(m.input_types["segment"], "categorical")
        self.assertEqual(m.categories["segment"], ["A", "B"])
        self.assertEqual(m.positive_label, "yes")
        self.assertEqual(m.negative_label, "no")
        p = m.predict_proba(df, ignore_extra=True)
        self.assertTrue(np.isfinite(p).all())
        with self.assertRaises(PropensityError):
            m.predict_proba(df)  # accepted is the target: known; but installment_amount / connected are extra
        df2 = df.drop(columns=["installment_amount", "connected", "month"])
        self.assertEqual(hexes(m.predict_proba(df2)), hexes(p))

    def test_progress_and_log_called(self):
        stages, logs = [], []
        propensity.Model.train(self.hist.head(300), recipe=_fixture.FAST_RECIPE,
                               progress=lambda s, d, t: stages.append((s, d, t)) and False,
                               log=lambda lv, msg: logs.append((lv, msg)), **self.d.train_args)
        self.assertTrue(stages)
        self.assertTrue(all(isinstance(s, str) and d <= t for s, d, t in stages))
        self.assertTrue(all(isinstance(m, str) for _, m in logs))

    def test_time_column_formats(self):
        """Months as integers, YYYY-MM text, datetimes and monthly periods train the same model (the time
        column is never an input); a mixed or unreadable one raises naming the row."""
        df = self.hist.head(400).copy()
        args = dict(self.d.train_args, recipe=_fixture.FAST_RECIPE)
        ref = propensity.Model.train(df, **args)
        ref_p = hexes(ref.predict_proba(self.calls))
        months = df["month"].astype(int)
        forms = {"YYYY-MM": months.map(lambda m: f"2026-{m:02d}"),
                 "YYYYMM": months.map(lambda m: 202600 + m),
                 "datetime64": pd.to_datetime(months.map(lambda m: f"2026-{m:02d}-17")),
                 "Period": pd.PeriodIndex(months.map(lambda m: f"2026-{m:02d}"), freq="M").to_series(index=df.index)}
        for name, col in forms.items():
            with self.subTest(name):
                m = propensity.Model.train(df.assign(month=col), **args)
                self.assertEqual(m.time_column, "month")
                self.assertNotIn("month", m.inputs)
                self.assertEqual(hexes(m.predict_proba(self.calls)), ref_p)
        bad = months.map(lambda m: f"2026-{m:02d}").astype(object)
        bad.iloc[5] = "2026-01-31"
        with self.assertRaises(PropensityError) as e:
            propensity.Model.train(df.assign(month=bad), **args)
        self.assertEqual(e.exception.status, "PROP_ERR_VALUE")
        self.assertIn("<frame>:6:month: '2026-01-31' is a date YYYY-MM-DD, but row 1 has", e.exception.message)
        dt = pd.to_datetime(months.map(lambda m: f"2026-{m:02d}-17"))
        dt.iloc[2] = pd.NaT
        with self.assertRaises(PropensityError) as e:
            propensity.Model.train(df.assign(month=dt), **args)
        self.assertIn("<frame>:3:month: missing time value", e.exception.message)

    def test_two_labels_everywhere(self):
        """One rule for labels: a target holds two.  Model.train, band_table and PropensityClassifier
        all refuse a third label with PROP_ERR_CATEGORY; Model.train and band_table name its row."""
        from propensity.sklearn import PropensityClassifier
        df = self.hist.head(300).copy()
        status = np.where(df["accepted"] == 1, "accepted", "declined").astype(object)
        status[7] = "no_answer"
        args = dict(self.d.train_args, target="status", positive="accepted", recipe=_fixture.FAST_RECIPE)
        three = df.drop(columns=["accepted"]).assign(status=status)
        with self.assertRaises(PropensityError) as e:
            propensity.Model.train(three, **args)
        self.assertEqual(e.exception.status, "PROP_ERR_CATEGORY")
        self.assertIn("<frame>:8:status: label 'no_answer' is a third label besides the positive 'accepted' and "
                      "'declined'", e.exception.message)
        two = three.assign(status=np.where(status == "accepted", "accepted", "declined"))
        m = propensity.Model.train(two, **args)
        self.assertEqual((m.positive_label, m.negative_label), ("accepted", "declined"))
        with self.assertRaises(PropensityError) as e:
            m.band_table(three)
        self.assertEqual(e.exception.status, "PROP_ERR_CATEGORY")
        self.assertIn("<frame>:8:status: label 'no_answer'", e.exception.message)
        self.assertEqual(int(m.band_table(two)["count"].sum()), len(two))
        X = two.drop(columns=["status", "customer_id", "installment_amount", "connected", "month"])
        with self.assertRaises(PropensityError) as e:
            PropensityClassifier(recipe=_fixture.FAST_RECIPE).fit(X, status)
        self.assertEqual(e.exception.status, "PROP_ERR_CATEGORY")
        self.assertIn("y holds 3 labels", e.exception.message)

    def test_auc_and_demo(self):
        self.assertEqual(propensity.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75)
        p = self.d.dir / "demo_py.csv"
        propensity.write_demo_csv(p, seed=5, customers_per_month=50, months=1)
        q = self.d.dir / "demo_py2.csv"
        propensity.write_demo_csv(q, seed=5, customers_per_month=50, months=1)
        self.assertEqual(p.read_bytes(), q.read_bytes())
        self.assertEqual(len(pd.read_csv(p)), 50)


if __name__ == "__main__":
    unittest.main()
