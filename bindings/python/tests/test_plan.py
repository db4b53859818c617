"""The contact model, the policy and the call plan from Python against the CLI (tests/plan_test.sh's
calls on the fixture's demo): the same model file, the same best cells and plan as DataFrames and, with
out=, the same bytes; errors carry the library's status and message."""

import datetime
import json
import math
import os
import threading
import unittest

import numpy as np
import pandas as pd

import _fixture
import propensity
from propensity import PropensityError

FIT = dict(id="customer_id", time="time", channel="channel", outcome="outcome", positive="connected")
CLI_FIT = ["--id", "customer_id", "--time", "time", "--channel", "channel", "--outcome", "outcome",
           "--positive", "connected"]
PHONES = {"mobile": "mobile_phone", "home": "home_phone", "office": "office_phone"}

_lock = threading.Lock()
_data = None


def data():
    """The CLI's contact model, best cells and plans of the fixture's demo (made once)."""
    global _data
    with _lock:
        if _data is not None:
            return _data
        d = _fixture.get()
        demo = d.dir / "demo"
        p = d.dir / "plan"
        p.mkdir()
        d.contact_history, d.customers, d.policy = demo / "contact_history.csv", demo / "customers.csv", demo / "policy.json"
        d.contact = p / "c.model"
        _fixture.run_cli("contact", "fit", "--history", d.contact_history, *CLI_FIT, "--data", d.customers,
                         "--segment-cols", "age_band,plans", "--out", d.contact)
        d.best = p / "best.csv"
        _fixture.run_cli("contact", "best", "--contact", d.contact, "--data", d.customers, "--out", d.best)
        # the call list with each customer's segment columns and phones (the customers file's text as it is)
        text = dict(dtype=str, keep_default_na=False)
        full = pd.read_csv(d.calllist, **text).merge(pd.read_csv(d.customers, **text), on="customer_id", how="left")
        d.full = p / "calllist_full.csv"
        full.to_csv(d.full, index=False)
        d.plan = p / "plan.csv"
        _fixture.run_cli("plan", "--model", d.model, "--contact", d.contact, "--policy", d.policy, "--data", d.full,
                         "--out", d.plan)
        pol = json.loads(d.policy.read_text())
        pol["phone_columns"] = PHONES
        pol["vicidial"] = {"list_id": 7000, "phone_code": "44"}
        d.policy_v_dict = pol
        d.policy_v = p / "policy_v.json"
        d.policy_v.write_text(json.dumps(pol))
        d.leads = p / "leads"
        _fixture.run_cli("plan", "--model", d.model, "--contact", d.contact, "--policy", d.policy_v, "--data", d.full,
                         "--out", d.leads, "--format", "vicidial")
        d.plan_value = p / "plan_value.csv"
        _fixture.run_cli("plan", "--model", d.model, "--contact", d.contact, "--policy", d.policy, "--data", d.full,
                         "--out", d.plan_value, "--value-col", "credit_limit", "--exact-max-rows", 0)
        _data = d
        return d


def read_history(d):
    return _fixture.read_csv(d.contact_history)


def read_customers(d):
    return pd.read_csv(d.customers, dtype=str, keep_default_na=False)


def read_calls(d):
    return _fixture.read_csv(d.full, dtype={"customer_id": str, "mobile_phone": str, "home_phone": str,
                                            "office_phone": str})


def assert_frame_is_csv(tc, df, path):
    """df holds, cell by cell, what the CSV at path holds: text equal (None for an empty field), numbers
    bit-identical (NaN / <NA> for an empty field), the same columns in the same order."""
    cli = pd.read_csv(path, dtype=str, keep_default_na=False)
    tc.assertEqual(list(df.columns), list(cli.columns))
    tc.assertEqual(len(df), len(cli))
    for col in cli.columns:
        want, got = cli[col].tolist(), df[col].tolist()
        if df[col].dtype == object:
            tc.assertEqual([None if w == "" else w for w in want], [None if g is None else str(g) for g in got], col)
        elif pd.api.types.is_float_dtype(df[col].dtype):
            tc.assertEqual([float(w).hex() if w else "nan" for w in want],
                           ["nan" if math.isnan(g) else float(g).hex() for g in got], col)
        else:
            tc.assertEqual([int(w) if w else None for w in want], [None if pd.isna(g) else int(g) for g in got], col)


class Contact(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = data()
        cls.c = propensity.ContactModel.load(cls.d.contact)

    def test_fit_equals_cli_model_file(self):
        c = propensity.ContactModel.fit(read_history(self.d), customers=read_customers(self.d),
                                        segment_cols=["age_band", "plans"], **FIT)
        out = self.d.dir / "plan" / "py_c.model"
        c.save(out)
        self.assertEqual(out.read_bytes(), self.d.contact.read_bytes())
        self.assertEqual(c.report, self.c.report)
        r = c.report
        self.assertEqual(r["attempts"], len(read_history(self.d)))
        self.assertEqual(r["cells"], 42)
        self.assertEqual([lv["level"] for lv in r["holdout"]["levels"]],
                         ["global", "segment", "customer", "customer_recalibrated"])

    def test_fit_options_equal_cli_options(self):
        """channels, hours, tz and holdout reach the library as the CLI's flags do (the same model bytes);
        a datetime column is the same as its ISO 8601 text."""
        out = self.d.dir / "plan" / "c_opts.model"
        _fixture.run_cli("contact", "fit", "--history", self.d.contact_history, *CLI_FIT, "--channels",
                         "office,mobile,home", "--hours", "8,7,2", "--tz", "+01:00", "--holdout", 0.1, "--out", out)
        hist = read_history(self.d)
        hist["time"] = pd.to_datetime(hist["time"], format="%Y-%m-%dT%H:%M:%S")
        c = propensity.ContactModel.fit(hist, channels=["office", "mobile", "home"], hours=(8, 7, 2), tz="+01:00",
                                        holdout=0.1, **FIT)
        mine = self.d.dir / "plan" / "py_c_opts.model"
        c.save(mine)
        self.assertEqual(mine.read_bytes(), out.read_bytes())
        self.assertEqual(c.channels, ["office", "mobile", "home"])
        self.assertEqual(c.cells["hour"].unique().tolist(), [8, 15])
        self.assertEqual(c.segment_columns, [])
        self.assertEqual(c.report["holdout"]["fraction"], 0.1)
        # a datetime column with a zone is its text with the offset: moved to tz's offset like '...Z' text
        utc = read_history(self.d)
        text = utc.assign(time=utc["time"] + "Z")
        aware = utc.assign(time=pd.to_datetime(utc["time"]).dt.tz_localize("UTC"))
        day = dict(hours=(0, 4, 6), holdout=0, **FIT)  # the whole day: a moved time stays in the grid
        a = propensity.ContactModel.fit(aware, tz=3600 // 60, **day)
        b = propensity.ContactModel.fit(text, tz=datetime.timedelta(hours=1), **day)
        naive = propensity.ContactModel.fit(utc, tz="+01:00", **day)
        probe = read_customers(self.d).head(50)
        self.assertTrue(np.array_equal(a.predict(probe).to_numpy(), b.predict(probe).to_numpy()))
        self.assertFalse(np.array_equal(a.predict(probe).to_numpy(), naive.predict(probe).to_numpy()))

    def test_load_and_grid(self):
        c = self.c
        self.assertEqual(c.channels, ["home", "mobile", "office"])
        self.assertEqual(c.segment_columns, ["age_band", "plans"])
        self.assertEqual(c.customer_id_column, "customer_id")
        g = c.cells
        self.assertEqual(list(g.columns), ["channel", "day", "hour"])
        self.assertEqual(len(g), 42)
        self.assertEqual(g.iloc[0].tolist(), ["home", "weekday", 8])
        self.assertEqual(g.iloc[41].tolist(), ["office", "weekend", 20])
        # the cells' names are the demo's truth file's columns, in its order
        truth = pd.read_csv(self.d.dir / "demo" / "contact_truth.csv", nrows=1)
        self.assertEqual(c.cell_names, list(truth.columns[2:]))
        again = self.d.dir / "plan" / "resaved.model"
        c.save(again)
        self.assertEqual(again.read_bytes(), self.d.contact.read_bytes())

    def test_best_equals_cli(self):
        cust = read_customers(self.d)
        out = self.d.dir / "plan" / "py_best.csv"
        b = self.c.best(cust, out=out)
        self.assertEqual(out.read_bytes(), self.d.best.read_bytes())
        assert_frame_is_csv(self, b, self.d.best)
        self.assertTrue(b.index.equals(cust.index))
        self.assertEqual(b["hour"].dtype, np.int64)

    def test_predict_agrees_with_best(self):
        cust = read_customers(self.d).iloc[::7]
        p = self.c.predict(cust)
        self.assertEqual(list(p.columns), self.c.cell_names)
        self.assertTrue(p.index.equals(cust.index))
        self.assertTrue(((p.to_numpy() > 0) & (p.to_numpy() < 1)).all())
        b = self.c.best(cust)
        self.assertEqual([x.hex() for x in p.max(axis=1)], [x.hex() for x in b["p_connect"]])
        first_max = [self.c.cell_names[k] for k in p.to_numpy().argmax(axis=1)]  # argmax: the first largest
        self.assertEqual(first_max, [f"{d}_{h:02d}_{c}" for c, d, h in zip(b["channel"], b["day"], b["hour"])])

    def test_unknown_customers(self):
        """A customer the model never saw gets its segment's cells when the rows carry the segment columns,
        else everyone's; a missing id is an unknown customer."""
        rows = pd.DataFrame({"customer_id": ["nobody", "nobody2", None], "age_band": ["18-29", "60+", "18-29"],
                             "plans": ["none", "none", "none"]})
        p = self.c.predict(rows)
        self.assertFalse(np.array_equal(p.iloc[0], p.iloc[1]))  # two segments
        self.assertTrue(np.array_equal(p.iloc[0], p.iloc[2]))
        glob = self.c.predict(rows[["customer_id"]])
        self.assertTrue(np.array_equal(glob.iloc[0], glob.iloc[1]))
        b = self.c.best(rows)
        self.assertEqual(b["id"].tolist(), ["nobody", "nobody2", None])
        # numbers as ids are the customers' text, a float column's 1201.0 included
        cust = read_customers(self.d).head(5)
        as_int = cust.assign(customer_id=cust["customer_id"].astype(int))
        as_float = cust.assign(customer_id=cust["customer_id"].astype(float))
        want = self.c.predict(cust).to_numpy()
        self.assertTrue(np.array_equal(self.c.predict(as_int).to_numpy(), want))
        self.assertTrue(np.array_equal(self.c.predict(as_float).to_numpy(), want))

    def test_threads_share_one_model(self):
        cust = read_customers(self.d)
        want = self.c.predict(cust).to_numpy()
        got = [None] * 4

        def work(i):
            got[i] = self.c.predict(cust).to_numpy()
        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for g in got:
            self.assertTrue(np.array_equal(g, want))


class Loaded(unittest.TestCase):
    """The CLI's files loaded: the model, the contact model, the demo's policy, the call list."""

    @classmethod
    def setUpClass(cls):
        cls.d = data()
        cls.m = propensity.Model.load(cls.d.model)
        cls.c = propensity.ContactModel.load(cls.d.contact)
        cls.pol = propensity.Policy.load(cls.d.policy, cls.c)
        cls.calls = read_calls(cls.d)


class Plan(Loaded):

    def test_plan_equals_cli(self):
        out = self.d.dir / "plan" / "py_plan.csv"
        p = self.m.plan(self.calls, self.c, self.pol, out=out)
        self.assertEqual(out.read_bytes(), self.d.plan.read_bytes())
        assert_frame_is_csv(self, p, self.d.plan)
        self.assertTrue(p.index.equals(self.calls.index))
        s = p.attrs["summary"]
        self.assertEqual(s["rows"], len(self.calls))
        self.assertEqual(s["called"], int(p["tier"].notna().sum()))
        self.assertEqual(s["method"], "exact")
        self.assertEqual(p.attrs["unseen_categories"], {})
        # capacities per slot (the demo's policy: 12 gold-agent and 40 agent calls)
        load = p.dropna(subset=["tier"]).groupby(["tier", "day", "hour"]).size()
        self.assertLessEqual(int(load.get("gold_agent", pd.Series([0])).max()), 12)
        self.assertLessEqual(int(load.get("agent", pd.Series([0])).max()), 40)
        # every row not called has its reason
        self.assertTrue(p.loc[p["tier"].isna(), "error"].notna().all())
        # the policy as a dict, as a path, and the model's rows in another index: the same plan
        again = self.m.plan(self.calls.set_index("customer_id", drop=False), self.c, json.loads(
            self.d.policy.read_text()), nthread=1)
        self.assertEqual(again["expected_value"].map(float.hex).tolist(), p["expected_value"].map(float.hex).tolist())
        self.assertEqual(again.index.tolist(), self.calls["customer_id"].tolist())
        by_path = self.m.plan(self.calls, self.c, str(self.d.policy))
        self.assertTrue(by_path.equals(p))

    def test_value_column(self):
        out = self.d.dir / "plan" / "py_plan_value.csv"
        p = self.m.plan(self.calls, self.c, self.pol, value_col="credit_limit", exact_max_rows=0, out=out)
        self.assertEqual(out.read_bytes(), self.d.plan_value.read_bytes())
        self.assertEqual(p.attrs["summary"]["method"], "greedy")
        arr = self.m.plan(self.calls, self.c, self.pol, value_col=self.calls["credit_limit"].to_numpy(),
                          exact_max_rows=0)
        self.assertTrue(arr.equals(p))

    def test_vicidial_equals_cli(self):
        folder = self.d.dir / "plan" / "py_leads"
        pol = propensity.Policy.parse(self.d.policy_v_dict, self.c)
        self.assertEqual(pol.phone_columns, PHONES)
        p = self.m.plan(self.calls, self.c, pol, out=folder, format="vicidial")
        names = sorted(os.listdir(self.d.leads))
        self.assertEqual(sorted(os.listdir(folder)), names)
        self.assertGreaterEqual(len(names), 3)
        for n in names:
            self.assertEqual((folder / n).read_bytes(), (self.d.leads / n).read_bytes(), n)
        assert_frame_is_csv(self, p, folder / "plan.csv")
        called = int(p["tier"].notna().sum())
        self.assertEqual(sum(len((folder / n).read_text().splitlines()) for n in names if n.endswith(".txt")), called)

    def test_rows_in_rows_out(self):
        calls = self.calls.head(8).copy()
        calls["customer_id"] = calls["customer_id"].astype(object)
        calls.iloc[2, calls.columns.get_loc("customer_id")] = None
        calls.iloc[5, calls.columns.get_loc("card_type")] = "titanium"  # never seen in training
        p = self.m.plan(calls, self.c, self.pol, unseen="error")
        self.assertEqual(len(p), 8)
        self.assertIsNone(p["id"].iloc[2])
        self.assertIsNone(p["tier"].iloc[2])
        self.assertEqual(p["error"].iloc[2], "<frame>:3:customer_id: the id is missing")
        self.assertTrue(math.isnan(p["probability"].iloc[5]))
        self.assertEqual(int(p["band"].iloc[5]), 0)
        self.assertIn("<frame>:6:card_type", p["error"].iloc[5])
        self.assertTrue(pd.isna(p["hour"].iloc[5]) and pd.isna(p["slot_rank"].iloc[5]))
        self.assertEqual(p.attrs["summary"]["not_called"]["not_scored"], 2)  # the missing id is not scored
        empty = self.m.plan(calls.head(0), self.c, self.pol)  # a list that is only a header
        self.assertEqual((len(empty), list(empty.columns)), (0, list(p.columns)))
        self.assertEqual(empty.attrs["summary"]["rows"], 0)
        self.assertEqual(len(self.c.best(calls.head(0))), 0)
        bucket = self.m.plan(calls, self.c, self.pol)
        self.assertFalse(math.isnan(bucket["probability"].iloc[5]))
        self.assertEqual(bucket.attrs["unseen_categories"], {"card_type": 1})

    def test_threads_give_the_same_plan(self):
        one = self.m.plan(self.calls, self.c, self.pol, nthread=1)
        two = self.m.plan(self.calls, self.c, self.pol, nthread=2)
        self.assertTrue(one.equals(two))


class Errors(Loaded):
    def assertRaisesStatus(self, status, fn, *args, contains=(), **kw):
        with self.assertRaises(PropensityError) as cm:
            fn(*args, **kw)
        e = cm.exception
        self.assertEqual(e.status, status, str(e))
        for c in contains:
            self.assertIn(c, e.message)
        return e

    def history(self, rows):
        return pd.DataFrame(rows, columns=["customer_id", "time", "channel", "outcome"])

    def test_bad_history_rows_named(self):
        fit = propensity.ContactModel.fit
        ok = ["1", "2026-03-02T10:00:00", "mobile", "connected"]
        e = self.assertRaisesStatus("PROP_ERR_VALUE", fit, self.history([ok, ["2", "14/03/2026 10:37", "home",
                                                                              "no_answer"]]), **FIT)
        self.assertIn("<frame>:2:time: '14/03/2026 10:37' is not a time", e.message)
        self.assertRaisesStatus("PROP_ERR_VALUE", fit, self.history([ok, ["2", "2026-03-02T07:10:00", "home", "x"]]),
                                contains=["<frame>:2:time: 07:10"], **FIT)
        self.assertRaisesStatus("PROP_ERR_CATEGORY", fit, self.history(
            [ok, ["2", "2026-03-02T11:10:00", "home", "busy"], ["3", "2026-03-02T11:10:00", "home", "no_answer"]]),
            contains=["<frame>:3:outcome: unknown outcome label 'no_answer'"], **FIT)
        self.assertRaisesStatus("PROP_ERR_VALUE", fit, self.history([ok, [None, "2026-03-02T11:10:00", "home", "x"]]),
                                contains=["<frame>:2:customer_id: the customer id is missing"], **FIT)
        self.assertRaisesStatus("PROP_ERR_VALUE", fit, self.history([ok, ["2", "2026-03-02T11:10:00", "app", "x"]]),
                                channels=["mobile", "home"], contains=["<frame>:2:channel: channel 'app'"], **FIT)
        # a missing time in a datetime column is named as a missing time
        dt = self.history([ok, ["2", "2026-03-02T11:10:00", "home", "x"]])
        dt["time"] = pd.to_datetime(dt["time"]).astype("datetime64[ns]")
        dt.loc[1, "time"] = pd.NaT
        self.assertRaisesStatus("PROP_ERR_VALUE", fit, dt, contains=["<frame>:2:time: the time is missing"], **FIT)

    def test_empty_history_and_missing_columns(self):
        fit = propensity.ContactModel.fit
        self.assertRaisesStatus("PROP_ERR_TRAIN", fit, self.history([]), contains=["the history has no attempts"],
                                **FIT)
        h = self.history([["1", "2026-03-02T10:00:00", "mobile", "connected"]])
        self.assertRaisesStatus("PROP_ERR_SCHEMA", fit, h.drop(columns=["time"]),
                                contains=["the time column 'time' is missing"], **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, h, segment_cols=["age_band"], **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, h, channels=[], **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, h, tz="CET", **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, h, tz=900, **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, h, hours=(8, 2, 9), contains=["must end by 24:00"], **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, h, holdout=0.7, contains=["holdout_fraction"], **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, h.to_numpy(), **FIT)
        self.assertRaisesStatus("PROP_ERR_ARG", fit, None, **FIT)
        cust = pd.DataFrame({"customer_id": ["1", "1"], "age_band": ["a", "b"]})
        self.assertRaisesStatus("PROP_ERR_VALUE", fit, h, customers=cust, segment_cols="age_band",
                                contains=["<frame>:2:customer_id: customer '1' is listed twice"], **FIT)

    def test_bad_policy_named_by_field(self):
        bad = {"tiers": [{"name": "agent", "capacity_per_slot": -1}]}
        self.assertRaisesStatus("PROP_ERR_RECIPE", propensity.Policy.parse, bad, self.c,
                                contains=["policy: tiers[0].capacity_per_slot: must be an integer"])
        path = self.d.dir / "plan" / "bad_policy.json"
        path.write_text(json.dumps({"tiers": [{"name": "agent", "channels": ["fax"]}]}))
        self.assertRaisesStatus("PROP_ERR_RECIPE", propensity.Policy.load, path, self.c,
                                contains=["bad_policy.json: tiers[0].channels"])
        self.assertRaisesStatus("PROP_ERR_RECIPE", propensity.Policy.parse, '{"tiers": [', self.c,
                                source="mine.json", contains=["mine.json:1:"])
        self.assertRaisesStatus("PROP_ERR_IO", propensity.Policy.load, self.d.dir / "nope.json", self.c)
        self.assertRaisesStatus("PROP_ERR_ARG", propensity.Policy.load, self.d.policy, self.m)
        calls = read_calls(self.d).head(20)
        self.assertRaisesStatus("PROP_ERR_RECIPE", self.m.plan, calls, self.c, bad)

    def test_plan_errors(self):
        calls = read_calls(self.d).head(20)
        pol = propensity.Policy.load(self.d.policy, self.c)
        self.assertRaisesStatus("PROP_ERR_ARG", self.m.plan, calls, self.c, pol, format="vicidial")
        self.assertRaisesStatus("PROP_ERR_ARG", self.m.plan, calls, self.c, pol, format="xml")
        self.assertRaisesStatus("PROP_ERR_ARG", self.m.plan, calls, self.d.contact, pol)
        self.assertRaisesStatus("PROP_ERR_ARG", self.m.plan, calls, self.c, pol, exact_max_rows=-1)
        self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.plan, calls.drop(columns=["income"]), self.c, pol,
                                contains=["'income'"])
        self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.plan, calls.drop(columns=["customer_id"]), self.c, pol,
                                contains=["customer_id"])
        self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.plan, calls, self.c, pol, value_col="amount")
        pol_v = propensity.Policy.parse(self.d.policy_v_dict, self.c)
        self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.plan, calls.drop(columns=["home_phone"]), self.c, pol_v,
                                contains=["the policy's phone column 'home_phone' is missing"])
        # a policy read against another grid
        h = read_history(self.d)
        four = propensity.ContactModel.fit(h, channels=["home", "mobile", "office", "app"], holdout=0, **FIT)
        other = propensity.Policy.load(self.d.policy, four)
        self.assertRaisesStatus("PROP_ERR_ARG", self.m.plan, calls, self.c, other,
                                contains=["read against another contact grid"])
        # a propensity model file is not a contact model; nothing is written after an error
        self.assertRaisesStatus("PROP_ERR_FORMAT", propensity.ContactModel.load, self.d.model,
                                contains=["not a contact model file"])
        for fmt, out in (("csv", self.d.dir / "plan" / "never.csv"), ("vicidial", self.d.dir / "plan" / "never")):
            self.assertRaisesStatus("PROP_ERR_SCHEMA", self.m.plan, calls.drop(columns=["home_phone"]), self.c, pol_v,
                                    out=out, format=fmt)
            self.assertFalse(out.exists())
        self.assertEqual([n for n in os.listdir(self.d.dir / "plan") if ".tmp." in n], [])

    def test_closed_objects(self):
        c = propensity.ContactModel.load(self.d.contact)
        pol = propensity.Policy.load(self.d.policy, c)
        pol.close()
        self.assertRaisesStatus("PROP_ERR_STATE", self.m.plan, read_calls(self.d).head(5), c, pol)
        c.close()
        self.assertRaisesStatus("PROP_ERR_STATE", c.predict, read_customers(self.d).head(5))
        self.assertRaisesStatus("PROP_ERR_STATE", propensity.Policy.load, self.d.policy, c)


if __name__ == "__main__":
    unittest.main()
