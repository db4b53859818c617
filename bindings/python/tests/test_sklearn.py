"""propensity.sklearn.PropensityClassifier under scikit-learn's own machinery."""

import pickle
import unittest
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import _fixture
from propensity import Model, PropensityError
from propensity.sklearn import PropensityClassifier


def data(n=450, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    logit = 1.5 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


class Classifier(unittest.TestCase):
    def test_init_stores_params_and_clone(self):
        clf = PropensityClassifier(recipe=_fixture.FAST_RECIPE, positive=1, nthread=2)
        self.assertFalse(hasattr(clf, "model_"))
        params = clf.get_params()
        self.assertEqual(params["recipe"], _fixture.FAST_RECIPE)
        self.assertEqual(params["target_name"], "target")
        self.assertEqual(params["nthread"], 2)
        c2 = clone(clf)
        self.assertEqual(c2.get_params(), params)
        c2.set_params(nthread=1, target_name="label")
        self.assertEqual((c2.nthread, c2.target_name), (1, "label"))
        self.assertEqual(clf.nthread, 2)

    def test_fit_predict_arrays(self):
        X, y = data()
        clf = PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1)
        self.assertIs(clf.fit(X, y), clf)
        self.assertEqual(clf.classes_.tolist(), [0, 1])
        self.assertEqual(clf.model_.inputs, ["x0", "x1", "x2", "x3"])
        self.assertEqual(clf.n_features_in_, 4)
        P = clf.predict_proba(X)
        self.assertEqual(P.shape, (len(X), 2))
        np.testing.assert_allclose(P.sum(axis=1), 1.0)
        self.assertTrue(np.array_equal(P[:, 1], clf.model_.predict_proba(X)))
        self.assertTrue(np.array_equal(clf.predict(X), np.where(P[:, 1] >= 0.5, 1, 0)))
        self.assertGreater(clf.score(X, y), 0.65)
        self.assertAlmostEqual(clf.feature_importances_.sum(), 1.0)
        with self.assertRaises(PropensityError):
            clf.predict_proba(X[:, :3])

    def test_string_classes_and_positive(self):
        X, y = data(seed=1)
        labels = np.where(y == 1, "yes", "no")
        df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(kind=np.where(X[:, 3] > 0, "p", "n"))
        clf = PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1).fit(df, labels)
        self.assertEqual(clf.classes_.tolist(), ["no", "yes"])
        self.assertEqual(clf.model_.input_types["kind"], "categorical")
        self.assertEqual(clf.feature_names_in_.tolist(), ["a", "b", "c", "d", "kind"])
        P = clf.predict_proba(df)
        # the other way round: positive "no" -> column 0 holds the model's probability
        neg = PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1, positive="no").fit(df, labels)
        Pn = neg.predict_proba(df)
        self.assertTrue(np.array_equal(Pn[:, 0], neg.model_.predict_proba(df)))
        self.assertGreater(roc_auc_score(labels == "yes", Pn[:, 1]), 0.75)
        self.assertGreater(roc_auc_score(labels == "yes", P[:, 1]), 0.75)
        self.assertEqual(set(clf.predict(df)), {"yes", "no"})
        with self.assertRaises(PropensityError):
            PropensityClassifier(recipe=_fixture.FAST_RECIPE).fit(df, np.array(["a", "b", "c"] * 150))
        with self.assertRaises(PropensityError):
            PropensityClassifier(recipe=_fixture.FAST_RECIPE, target_name="a").fit(df, labels)
        with self.assertRaises(PropensityError):
            clf.predict_proba(df.assign(extra=1.0))
        ok = clone(clf).set_params(ignore_extra=True).fit(df, labels)
        self.assertTrue(np.array_equal(ok.predict_proba(df.assign(extra=1.0)), P))

    def test_pipeline_and_cross_val_score(self):
        X, y = data(n=360, seed=2)
        pipe = Pipeline([("scale", StandardScaler()),
                         ("clf", PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1))])
        scores = cross_val_score(pipe, X, y, cv=3, scoring="roc_auc")
        self.assertEqual(len(scores), 3)
        self.assertTrue((scores > 0.7).all(), scores)
        acc = cross_val_score(PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1), X, y, cv=3)
        self.assertTrue((acc > 0.6).all(), acc)
        pipe.fit(X, y)
        self.assertEqual(pipe.predict_proba(X).shape, (len(X), 2))

    def test_column_transformer_object_output(self):
        """ColumnTransformer's default output next to a text column is an object array: its scaled
        columns hold Python floats.  They are numbers, not categories (once every value was a category
        and cross_val_score gave [nan nan nan])."""
        from sklearn.compose import ColumnTransformer
        rng = np.random.default_rng(4)
        n = 450
        X = pd.DataFrame({"a": rng.normal(size=n), "b": 100 * rng.normal(size=n),
                          "g": rng.choice(["x", "y", "z"], size=n)})
        y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * X["a"] - 0.01 * X["b"] + (X["g"] == "x"))))).astype(int)
        ct = ColumnTransformer([("num", StandardScaler(), ["a", "b"]), ("cat", "passthrough", ["g"])])
        self.assertEqual(ct.fit_transform(X).dtype, object)
        pipe = Pipeline([("ct", ct), ("clf", PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1))])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no row goes unscored, so no warning and no nan
            scores = cross_val_score(pipe, X, y, cv=3, scoring="roc_auc")
        self.assertTrue(np.isfinite(scores).all() and (scores > 0.7).all(), scores)
        pipe.fit(X, y)
        self.assertEqual(pipe[-1].model_.input_types, {"x0": "numeric", "x1": "numeric", "x2": "categorical"})
        # the same numbers as an object column or as float64 train the same model, missing values included
        Z = pd.DataFrame({"a": X["a"].to_numpy(), "g": X["g"]})
        Z.loc[3, "a"] = np.nan
        obj = Z.assign(a=pd.Series([None if np.isnan(v) else float(v) for v in Z["a"]], dtype=object))
        m1 = Model.train(Z.assign(t=y), target="t", recipe=_fixture.FAST_RECIPE, nthread=1)
        m2 = Model.train(obj.assign(t=y), target="t", recipe=_fixture.FAST_RECIPE, nthread=1)
        self.assertEqual(m2.input_types["a"], "numeric")
        self.assertTrue(np.array_equal(m1.predict_proba(Z), m2.predict_proba(obj), equal_nan=True))
        # missing values of any kind first, numpy scalars, Decimal: still numbers
        import decimal
        odd = pd.Series([pd.NA, None, np.float32(0.5), decimal.Decimal("1.25"), 3] * (n // 5), dtype=object)
        self.assertEqual(Model.train(pd.DataFrame({"a": odd, "t": y[:len(odd)]}), target="t",
                                     recipe=_fixture.FAST_RECIPE, nthread=1).input_types["a"], "numeric")
        # numbers mixed with text stay labels, and training says so
        mixed = Z.assign(a=pd.Series([1.5, "high"] * (n // 2) + [2.5] * (n % 2), dtype=object), t=y)
        with self.assertWarnsRegex(RuntimeWarning, "column 'a' holds values of several types"):
            m3 = Model.train(mixed, target="t", recipe=_fixture.FAST_RECIPE, nthread=1)
        self.assertEqual(m3.input_types["a"], "categorical")

    def test_unscored_rows_warn(self):
        # rows predict_proba cannot score are NaN with a warning from us, not only a scorer's nan
        rng = np.random.default_rng(5)
        X = pd.DataFrame({"a": rng.normal(size=300), "g": rng.choice(["x", "y"], size=300)})
        y = (X["a"] > 0).astype(int)
        clf = PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1, unseen="error").fit(X, y)  # strict
        with self.assertWarnsRegex(RuntimeWarning, "1 of 2 rows could not be scored"):
            P = clf.predict_proba(X.head(2).assign(g=["x", "new"]))
        self.assertTrue(np.isnan(P[1]).all() and np.isfinite(P[0]).all())

    def test_predict_refuses_unscored_rows_and_importances_align(self):
        rng = np.random.default_rng(1)
        n = 400
        X = pd.DataFrame({"cid": [f"c{i}" for i in range(n)], "a": rng.normal(size=n),
                          "g": rng.choice(["x", "y"], size=n), "b": rng.normal(size=n)})
        y = (rng.random(n) < 1 / (1 + np.exp(-2 * X["a"]))).astype(int)
        clf = PropensityClassifier(recipe=_fixture.FAST_RECIPE, id="cid").fit(X, y)
        imp = clf.feature_importances_
        self.assertEqual(len(imp), clf.n_features_in_)  # one per fitted column, in that order
        self.assertEqual(imp[0], 0.0)  # the id column
        by_name = dict(zip(clf.feature_names_in_, imp))
        self.assertAlmostEqual(sum(imp), 1.0)
        self.assertGreater(by_name["a"], by_name["b"])
        Xn = X.head(3).copy()
        Xn.loc[Xn.index[0], "g"] = "z"  # unseen: scored through the bucket by default
        self.assertTrue(np.isfinite(clf.predict_proba(Xn)).all())
        strict = PropensityClassifier(recipe=_fixture.FAST_RECIPE, id="cid", unseen="error").fit(X, y)
        self.assertTrue(np.isnan(strict.predict_proba(Xn)[0]).all())  # strict: no probability, so no class
        with self.assertRaises(PropensityError) as cm:
            strict.predict(Xn)
        self.assertIn("positions [0]", cm.exception.message)
        self.assertEqual(len(clf.predict(X.head(3))), 3)

    def test_pickle_round_trip(self):
        X, y = data(seed=3)
        clf = PropensityClassifier(recipe=_fixture.FAST_RECIPE, nthread=1).fit(X, y)
        blob = pickle.dumps(clf)
        back = pickle.loads(blob)
        self.assertIsInstance(back.model_, Model)
        self.assertIsNot(back.model_, clf.model_)
        self.assertTrue(np.array_equal(back.predict_proba(X), clf.predict_proba(X)))
        self.assertEqual(back.get_params(), clf.get_params())
        state = clf.__getstate__()
        self.assertEqual(state["model_"][0], "propensity-model-bytes")
        self.assertEqual(state["model_"][1][:8], b"PROPMODL")
        # an unfitted estimator pickles too
        self.assertEqual(pickle.loads(pickle.dumps(PropensityClassifier())).get_params()["recipe"], None)


if __name__ == "__main__":
    unittest.main()
