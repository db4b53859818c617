#!/usr/bin/env bash
# Install the Debian 12 packages propensity needs (only those missing).  Run as root, or with
# sudo available.  Used by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libxgboost-dev libcmocka-dev libjansson-dev
      libcsv-dev zlib1g-dev python3 python3-numpy python3-pandas python3-sklearn python3-xgboost
      python3-dask python3-distributed python3-setuptools python3-venv)
pkgs+=(libopenblas-dev) # bench/bench_knn_gemm's reference sgemm only: the library calls no BLAS
pkgs+=(clang libomp-dev)   # scripts/test.sh builds and tests with clang as well as gcc (clang's OpenMP is libomp)
pkgs+=(libclang-rt-14-dev) # clang's sanitizer runtimes: scripts/test.sh's ThreadSanitizer stage links libclang_rt.tsan
pkgs+=(bsdextrautils)   # scripts/demo.sh lays out its tables with column(1)
pkgs+=(python3-wheel)   # pip install of bindings/python into a venv builds a wheel
pkgs+=(locales) # tests/test_locale.c builds a German locale (decimal comma) with localedef
pkgs+=(time) # bench/score_rss.sh reads the peak RSS from /usr/bin/time -v
pkgs+=(chromium) # always: tests/compare_test.sh renders the compare report in it (--with-browser: now a no-op)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
