"""Dask scoring on a LocalCluster of two worker processes equals single-process scoring row for row."""

import logging
import unittest

import pandas as pd

import _fixture
import propensity
import propensity.dask as pdask


class DaskScoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
        cls.d = _fixture.get()
        cls.m = propensity.Model.load(cls.d.model)
        cls.calls = _fixture.read_csv(cls.d.calllist).drop(columns=["month"])
        cls.big = pd.concat([cls.calls] * 4, ignore_index=True)
        cls.ddf = dd.from_pandas(cls.big, npartitions=8)
        cls.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.CRITICAL)
        cls.client = Client(cls.cluster)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.cluster.close()

    def check_equal(self, got, keep=()):
        prob, band, _ = self.m.score(self.big)
        got = got.sort_index()
        self.assertEqual(len(got), len(self.big))
        self.assertTrue(got.index.equals(self.big.index))
        self.assertEqual([x.hex() for x in got["probability"]], [float(x).hex() for x in prob])
        self.assertEqual(got["band"].tolist(), band.tolist())
        for c in keep:
            self.assertEqual(got[c].tolist(), self.big[c].tolist())

    def test_shared_path_each_worker_loads_once(self):
        self.client.run(pdask.clear_cache)
        lazy = pdask.score_dask(self.ddf, str(self.d.model), keep=["customer_id"])
        self.assertEqual(list(lazy.columns), ["customer_id", "probability", "band"])
        self.check_equal(lazy.compute(), keep=["customer_id"])
        info = self.client.run(pdask.cache_info)
        self.assertEqual(len(info), 2)
        pids = {v["pid"] for v in info.values()}
        self.assertEqual(len(pids), 2)  # two processes
        # 8 partitions over 2 workers: each process loaded the model at most once
        self.assertTrue(all(v["loads"] <= 1 for v in info.values()), info)
        self.assertGreaterEqual(sum(v["loads"] for v in info.values()), 1)
        # again: everything from the cache
        self.check_equal(pdask.score_dask(self.ddf, self.d.model, keep=["customer_id"]).compute())
        self.assertEqual(self.client.run(pdask.cache_info), info)

    def test_scattered_bytes(self):
        fut = self.client.scatter(self.d.model.read_bytes(), broadcast=True)
        self.check_equal(pdask.score_dask(self.ddf, fut).compute())
        self.check_equal(pdask.score_dask(self.ddf, self.m).compute())

    def test_read_csv_partitions(self):
        import dask.dataframe as dd
        ddf = dd.read_csv(str(self.d.calllist), blocksize=8000, float_precision="round_trip",
                          keep_default_na=False, na_values=["NA", ""], dtype={"customer_id": str},
                          assume_missing=True)
        self.assertGreater(ddf.npartitions, 1)
        got = pdask.score_dask(ddf, self.d.model, keep=["customer_id"], ignore_extra=True).compute()
        cli = pd.read_csv(self.d.ranked, dtype=str, keep_default_na=False)
        self.assertEqual(got["customer_id"].tolist(), cli["id"].tolist())
        self.assertEqual([x.hex() for x in got["probability"]], [float(x).hex() for x in cli["probability"]])

    def test_errors(self):
        bad = self.ddf.drop(columns=["credit_limit"])
        # checked on the client before anything runs ...
        with self.assertRaises(propensity.PropensityError) as cm:
            pdask.score_dask(bad, self.d.model)
        self.assertIn("'credit_limit'", cm.exception.message)
        with self.assertRaises(propensity.PropensityError) as cm:
            pdask.score_dask(self.ddf, self.d.dir / "missing.model")
        self.assertEqual(cm.exception.status, "PROP_ERR_IO")
        with self.assertRaises(propensity.PropensityError):
            pdask.score_dask(self.ddf, self.d.model, keep=["nope"])
        # ... or, for a scattered model, on the workers, and the error reaches the client intact
        fut = self.client.scatter(self.d.model.read_bytes(), broadcast=True)
        with self.assertRaises(propensity.PropensityError) as cm:
            pdask.score_dask(bad, fut).compute()
        self.assertEqual(cm.exception.status, "PROP_ERR_SCHEMA")
        self.assertIn("'credit_limit'", cm.exception.message)
        fut = self.client.scatter(b"not a model", broadcast=True)
        with self.assertRaises(propensity.PropensityError) as cm:
            pdask.score_dask(self.ddf, fut).compute()
        self.assertEqual(cm.exception.status, "PROP_ERR_FORMAT")

if __name__ == "__main__":
    unittest.main()
