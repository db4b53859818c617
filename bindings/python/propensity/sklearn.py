"""propensity.sklearn: libpropensity's whole pipeline as a scikit-learn binary classifier.

    from propensity.sklearn import PropensityClassifier
    clf = PropensityClassifier(recipe="tests/recipes/small.json").fit(X, y)
    clf.predict_proba(X_new)[:, 1]

X is a DataFrame (columns typed by dtype: numeric / bool numeric, object / category / string
categorical) or a 2-D array (columns named x0, x1, ...).  y holds exactly two classes; the
positive one is `positive` (default: the larger of the two, classes_[1], as scikit-learn does).
The fitted estimator pickles through the model file's bytes.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ._lib import PROP_ERR_ARG, PROP_ERR_CATEGORY, PROP_ERR_SCHEMA, PROP_ERR_TRAIN, PROP_ERR_VALUE, PropensityError
from .model import Model


class PropensityClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator over propensity.Model.

    Parameters (stored as given; nothing happens until fit):
      recipe       None (the built-in default recipe), a dict, JSON text or a recipe file path
      target_name  the name the target column gets in the training frame (must not clash with X)
      positive     the positive class (None: classes_[1])
      nthread      worker threads for training and scoring (0 = all cores)
      ignore       columns of a DataFrame X left out of the features
      id           a DataFrame column that is the customer id (never a feature)
      ignore_extra at predict time, ignore DataFrame columns that are not model inputs
      unseen       "error" (default): a row with a category unseen in training gets NaN, as Model.score;
                   "bucket": it is scored through the encoder's <other> bucket (what cross-validation
                   folds with rare categories usually want)
    Fitted attributes: model_ (propensity.Model), classes_, n_features_in_, feature_names_in_
    (DataFrame X only), feature_importances_."""

    def __init__(self, recipe=None, target_name="target", positive=None, nthread=0, ignore=(), id=None,
                 ignore_extra=False, unseen="bucket"):
        self.recipe = recipe
        self.target_name = target_name
        self.positive = positive
        self.nthread = nthread
        self.ignore = ignore
        self.id = id
        self.ignore_extra = ignore_extra
        self.unseen = unseen

    # ---- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _as_frame(X):
        if isinstance(X, pd.DataFrame):
            return X
        a = np.asarray(X)
        if a.ndim != 2:
            raise PropensityError(PROP_ERR_ARG, f"X must be 2-D, got shape {a.shape}")
        return pd.DataFrame(a, columns=[f"x{j}" for j in range(a.shape[1])])

    # ---- fit / predict ------------------------------------------------------------------------

    def fit(self, X, y):
        df = self._as_frame(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(df):
            raise PropensityError(PROP_ERR_ARG, f"y must be 1-D with {len(df)} entries, got shape {y.shape}")
        classes = np.unique(y)
        if len(classes) > 2:  # the library's rule for every target: two labels (README, "Labels")
            raise PropensityError(PROP_ERR_CATEGORY, f"y holds {len(classes)} labels ({list(classes)[:5]}): a target "
                                  "holds two labels, the positive and one negative; map the others to one of them first")
        if len(classes) != 2:
            raise PropensityError(PROP_ERR_TRAIN, f"PropensityClassifier is a binary classifier; y has "
                                  f"{len(classes)} class ({list(classes)[:5]})")
        positive = classes[1] if self.positive is None else self.positive
        if positive not in list(classes):
            raise PropensityError(PROP_ERR_TRAIN, f"positive class {positive!r} is not among the classes "
                                  f"{list(classes)}")
        if self.target_name in [str(c) for c in df.columns]:
            raise PropensityError(PROP_ERR_SCHEMA, f"target_name '{self.target_name}' is also a column of X; "
                                  "choose another target_name")
        train = df.copy(deep=False)
        train[self.target_name] = (y == positive).astype(np.float64)
        self.model_ = Model.train(train, target=self.target_name, id=self.id, ignore=self.ignore,
                                  recipe=self.recipe, nthread=self.nthread)
        self.classes_ = classes
        self._pos_index = int(np.flatnonzero(classes == positive)[0])
        self.n_features_in_ = df.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._from_array = not isinstance(X, pd.DataFrame)
        return self

    def _positive_proba(self, X):
        check_is_fitted(self, "model_")
        m = self.model_
        if not isinstance(X, pd.DataFrame):
            a = np.asarray(X)
            if a.ndim != 2 or a.shape[1] != self.n_features_in_:
                raise PropensityError(PROP_ERR_ARG, f"X has shape {a.shape}; the estimator was fitted on "
                                      f"{self.n_features_in_} features")
            if self._from_array and a.dtype.kind in "biuf" and m.inputs == [f"x{j}" for j in range(a.shape[1])]:
                return m.predict_proba(a, nthread=self.nthread, unseen=self.unseen)  # in place, no DataFrame
            X = self._as_frame(a) if self._from_array else pd.DataFrame(a, columns=self.feature_names_in_)
        known = {str(c) for c in ([self.id] if self.id else []) + list(self.ignore or ())}
        if not self.ignore_extra:
            extra = [str(c) for c in X.columns if str(c) not in m.inputs and str(c) not in known]
            if extra:
                raise PropensityError(PROP_ERR_SCHEMA, f"column(s) {extra} are not inputs of the model "
                                      "(set ignore_extra=True to score anyway)")
        return m.predict_proba(X, ignore_extra=True, nthread=self.nthread, unseen=self.unseen)

    def predict_proba(self, X):
        """n x 2 probabilities in classes_ order (NaN for rows that cannot be scored, with a
        RuntimeWarning saying how many: a scorer such as roc_auc fails on NaN, and
        cross_val_score would only show nan)."""
        p = self._positive_proba(X)
        bad = int(np.isnan(p).sum())
        if bad:
            warnings.warn(f"PropensityClassifier: {bad} of {len(p)} rows could not be scored and get NaN "
                          "probabilities (a category unseen in training, with unseen='error', or an infinite "
                          "value); unseen='bucket' scores unseen categories", RuntimeWarning, stacklevel=2)
        out = np.empty((len(p), 2))
        out[:, self._pos_index] = p
        out[:, 1 - self._pos_index] = 1.0 - p
        return out

    def predict(self, X):
        """The positive class where its probability is >= 0.5, else the other class.  A row that
        cannot be scored (predict_proba NaN, e.g. a category unseen in training under
        unseen="error") has no class: PropensityError names the first such rows instead of
        counting them as the negative class."""
        p = self._positive_proba(X)
        bad = np.flatnonzero(np.isnan(p))
        if len(bad):
            raise PropensityError(PROP_ERR_VALUE, f"{len(bad)} row(s) could not be scored (positions "
                                  f"{bad[:5].tolist()}{' ...' if len(bad) > 5 else ''}): predict_proba gives NaN "
                                  "for them; see Model.score for the reasons, or set unseen='bucket'")
        pos = self.classes_[self._pos_index]
        neg = self.classes_[1 - self._pos_index]
        return np.where(p >= 0.5, pos, neg)

    @property
    def feature_importances_(self):
        """The model's gain importance, normalised to sum to 1: n_features_in_ entries in the order
        of the fitted columns (feature_names_in_), 0 for the id and ignored columns."""
        check_is_fitted(self, "model_")
        imp = self.model_.importance()
        s = imp.sum()
        names = self.feature_names_in_ if hasattr(self, "feature_names_in_") else \
            [f"x{j}" for j in range(self.n_features_in_)]
        out = np.array([float(imp.get(str(c), 0.0)) for c in names])
        return out / s if s > 0 else out

    def _more_tags(self):
        return {"binary_only": True, "allow_nan": True}

    # ---- pickling: the C model travels as its file bytes ------------------------------------

    def __getstate__(self):
        state = dict(super().__getstate__())
        if "model_" in state:
            state["model_"] = ("propensity-model-bytes", state["model_"].to_bytes())
        return state

    def __setstate__(self, state):
        state = dict(state)
        mb = state.get("model_")
        if isinstance(mb, tuple) and len(mb) == 2 and mb[0] == "propensity-model-bytes":
            state["model_"] = Model.from_bytes(mb[1])
        super().__setstate__(state)
