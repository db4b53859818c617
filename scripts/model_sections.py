#!/usr/bin/python3
"""Compare two propensity model files section by section.

usage: model_sections.py A.model B.model     exit 0 when they agree, 1 when they differ

The container (lib/io/bundle.h): an 8-byte magic, u32 format version, u32 section count, u32 CRC;
then per section a 4-byte tag, u32 flags, u64 length, u32 CRC and the payload; then a trailer.
Every section must match byte for byte except META, the metadata JSON, which records when and how
long training took: it is compared as JSON with those wall-clock fields removed.
"""
import json
import struct
import sys

VOLATILE = {"created", "train_seconds", "cv_fit_seconds"}


def sections(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"PROPMODL":
        sys.exit(f"{path}: not a propensity model file")
    version, count = struct.unpack_from("<II", data, 8)
    pos, out = 20, []
    for _ in range(count):
        tag = data[pos:pos + 4].decode("ascii")
        (length,) = struct.unpack_from("<Q", data, pos + 8)
        out.append((tag, data[pos + 20:pos + 20 + length]))
        pos += 20 + length
    return version, out


def scrub(obj):
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


def main(a, b):
    va, sa = sections(a)
    vb, sb = sections(b)
    bad = []
    if va != vb:
        bad.append(f"format version {va} != {vb}")
    if [t for t, _ in sa] != [t for t, _ in sb]:
        bad.append(f"section tags differ: {[t for t, _ in sa]} vs {[t for t, _ in sb]}")
    for (ta, pa), (tb, pb) in zip(sa, sb):
        if ta != tb:
            continue
        if ta == "META":
            if scrub(json.loads(pa)) != scrub(json.loads(pb)):
                bad.append("META differs beyond its wall-clock fields")
        elif pa != pb:
            bad.append(f"section {ta} differs ({len(pa)} vs {len(pb)} bytes)")
    for line in bad:
        print(f"{a} vs {b}: {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
