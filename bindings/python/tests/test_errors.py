"""Every failure path raises PropensityError carrying the C library's status and message."""

import pickle
import unittest

import numpy as np
import pandas as pd

import _fixture
import propensity
from propensity import PropensityError, _lib


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = _fixture.get()
        cls.m = propensity.Model.load(cls.d.model)
        cls.bytes = cls.d.model.read_bytes()

    def assertRaisesStatus(self, status, fn, *args, contains=(), **kw):
        with self.assertRaises(PropensityError) as cm:
            fn(*args, **kw)
        e = cm.exception
        self.assertEqual(e.status, status, str(e))
        self.assertEqual(e.code, getattr(_lib, status))
        self.assertTrue(e.message)
        for c in contains:
            self.assertIn(c, e.message)
        self.assertIn(status, str(e))
        return e

    def test_error_carries_last_error_text(self):
        e = self.assertRaisesStatus("PROP_ERR_IO", propensity.Model.load, self.d.dir / "nope.bin",
                                    contains=["nope.bin"])
        # the same text prop_last_error() holds on this thread right after the failure
        self.assertEqual(e.message, _lib.lib().prop_last_error().decode())
        self.assertEqual(_lib.lib().prop_last_error_code(), _lib.PROP_ERR_IO)
        e2 = pickle.loads(pickle.dumps(e))
        self.assertEqual((e2.code, e2.status, e2.message), (e.code, e.status, e.message))

    def test_bad_model_bytes(self):
        self.assertRaisesStatus("PROP_ERR_FORMAT", propensity.Model.from_bytes, b"not a model file at all" * 10)
        self.assertRaisesStatus("PROP_ERR_TRUNCATED", propensity.Model.from_bytes, self.bytes[:1000],
                                contains=["truncated"])
        bad = bytearray(self.bytes)
        bad[3000:3002] = bytes([bad[3000] ^ 0xFF, bad[3001] ^ 0xFE])
        self.assertRaisesStatus("PROP_ERR_CORRUPT", propensity.Model.from_bytes, bytes(bad))
        p = self.d.dir / "corrupt.bin"
        p.write_bytes(bytes(bad))
        self.assertRaisesStatus("PROP_ERR_CORRUPT", propensity.Model.load, p)
        self.assertRaisesStatus("PROP_ERR_FORMAT", propensity.Model.load, _fixture.RECIPE)

    def test_missing_column_dense(self):
        X = np.zeros((3, len(self.m.inputs) - 1))
        self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.predict_proba, X,
                                contains=[f"the model has {len(self.m.inputs)} inputs, the matrix "
                                          f"{len(self.m.inputs) - 1} columns"])
        self.assertRaisesStatus("PROP_ERR_ARG", self.m.predict_proba, np.zeros(len(self.m.inputs)))

    def test_missing_column_dataframe(self):
        calls = _fixture.read_csv(self.d.calllist).drop(columns=["month"])
        self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.predict_proba, calls.drop(columns=["credit_limit"]),
                                contains=["'credit_limit'", "missing"])
        # a numeric input given labels: the library's own message names the first row, the column
        # and the cell
        calls["credit_limit"] = calls["credit_limit"].astype(object)
        calls.loc[calls.index[2], "credit_limit"] = "lots"
        self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.predict_proba, calls,
                                contains=[":3:credit_limit: 'lots' is not a number", "reads 'credit_limit' as numbers"])

    def test_counts_never_wrap_and_duplicate_columns(self):
        # a negative count would wrap to 2**64 - 1 in the library's size_t: refused before the call
        with self.assertRaises(PropensityError) as cm:
            propensity.write_demo_csv(str(self.d.dir / "never.csv"), customers_per_month=-1)
        self.assertEqual(cm.exception.status, "PROP_ERR_ARG")
        latest = _fixture.read_csv(self.d.latest)
        for bad in (-1, 0, 1.5):
            with self.assertRaises(PropensityError):
                self.m.permutation_importance(latest, repeats=bad)
        hist = _fixture.read_csv(self.d.history).head(50)
        dup = pd.concat([hist, hist[["income"]]], axis=1)
        with self.assertRaises(PropensityError) as cm:
            propensity.Model.train(dup, **self.d.train_args)
        self.assertIn("duplicate column name 'income'", cm.exception.message)

    def test_infinite_value_in_dataframe(self):
        calls = _fixture.read_csv(self.d.calllist).drop(columns=["month"])
        calls.loc[calls.index[4], "credit_limit"] = np.inf
        self.assertRaisesStatus("PROP_ERR_VALUE", self.m.predict_proba, calls, contains=[":5:credit_limit"])

    def test_bad_recipe(self):
        df = _fixture.read_csv(self.d.history).head(200)
        bad = {"members": [{"name": "xgboost", "params": {"max_depth": 0}}]}
        self.assertRaisesStatus("PROP_ERR_RECIPE", propensity.Model.train, df, recipe=bad,
                                contains=["members[0].params.max_depth"], **self.d.train_args)
        self.assertRaisesStatus("PROP_ERR_RECIPE", propensity.recipe_json, '{"members": [{"name": "nope"}]}',
                                contains=["members[0]"])
        self.assertRaisesStatus("PROP_ERR_RECIPE", propensity.recipe_json, '{"members": [',
                                contains=["recipe (JSON text):1:"])
        p = self.d.dir / "bad_recipe.json"
        p.write_text('{"cv_folds": 1}')
        self.assertRaisesStatus("PROP_ERR_RECIPE", propensity.recipe_json, p, contains=["cv_folds"])
        self.assertRaisesStatus("PROP_ERR_IO", propensity.recipe_json, self.d.dir / "no_recipe.json",
                                contains=["no_recipe.json"])
        self.assertRaisesStatus("PROP_ERR_ARG", propensity.recipe_json, 42)

    def test_training_errors(self):
        df = _fixture.read_csv(self.d.history).head(300)
        args = dict(self.d.train_args)
        self.assertRaisesStatus("PROP_ERR_SCHEMA", propensity.Model.train, df.drop(columns=["month"]),
                                recipe=_fixture.FAST_RECIPE, contains=["'month'"], **args)
        one_class = df.assign(accepted=0)
        self.assertRaisesStatus("PROP_ERR_TRAIN", propensity.Model.train, one_class,
                                recipe=_fixture.FAST_RECIPE, **args)
        args["positive"] = "7"
        self.assertRaisesStatus("PROP_ERR_CATEGORY", propensity.Model.train, df.assign(accepted=df["accepted"].map(
            {0: "no", 1: "yes"})), recipe=_fixture.FAST_RECIPE, contains=["'7'"], **args)
        self.assertRaisesStatus("PROP_ERR_ARG", propensity.Model.train, df.to_numpy(), target="accepted")

    def test_cancel_from_progress(self):
        df = _fixture.read_csv(self.d.history).head(300)
        stages = []
        e = self.assertRaisesStatus("PROP_ERR_CANCELLED", propensity.Model.train, df,
                                    recipe=_fixture.FAST_RECIPE, progress=lambda s, d, t: stages.append(s) or True,
                                    **self.d.train_args)
        self.assertTrue(stages, e)

        def boom(stage, done, total):
            raise KeyError("from the callback")
        with self.assertRaises(KeyError):
            propensity.Model.train(df, recipe=_fixture.FAST_RECIPE, progress=boom, **self.d.train_args)

    def test_closed_model(self):
        m = propensity.Model.from_bytes(self.bytes)
        m.close()
        self.assertRaisesStatus("PROP_ERR_STATE", m.predict_proba, np.zeros((1, len(self.m.inputs))))
        m.close()  # twice is fine
        x = np.zeros((1, len(self.m.inputs)))
        with propensity.Model.from_bytes(self.bytes) as m2:  # a with block closes it at its end
            self.assertEqual(m2.predict_proba(x).shape[0], 1)
        self.assertRaisesStatus("PROP_ERR_STATE", m2.predict_proba, x)


if __name__ == "__main__":
    unittest.main()
