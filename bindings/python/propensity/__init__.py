"""propensity: Python bindings (ctypes) for libpropensity, the installment propensity library.

    import propensity
    m = propensity.Model.train(history_df, target="accepted", id="customer_id",
                               ignore=["installment_amount"], connected="connected", time_col="month")
    m.save("installment.model")
    calls = m.rank(calllist_df, capacity=500)
    contact = propensity.ContactModel.fit(attempts_df, id="customer_id", time="time", channel="channel",
                                          outcome="outcome", positive="connected")
    plan = m.plan(calllist_df, contact, propensity.Policy.load("policy.json", contact))

The C library is found through PROPENSITY_LIBRARY, the repository's build tree or an installed
copy (see propensity._lib); a library of another version is refused.  Every failing C call raises
PropensityError(code, message) carrying prop_last_error()'s text.  Models are read-only once
created: one Model may be used from many threads at once.  propensity.sklearn and propensity.dask
hold the scikit-learn estimator and the Dask scoring helper (imported on demand).
"""

from ._lib import STATUS_NAMES, PropensityError, library_path, version
from ._version import __version__
from .model import Model, auc, recipe_json, write_demo_csv
from .plan import ContactModel, Policy

__all__ = ["ContactModel", "Model", "Policy", "PropensityError", "STATUS_NAMES", "__version__", "auc", "library_path",
           "recipe_json", "version", "write_demo_csv"]
