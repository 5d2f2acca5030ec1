#!/usr/bin/env python3
"""Merge the per-n parts of a Table 3 run (make bench-table3-paper) into one bench folder.

usage: bench_merge.py OUT PART...
Each PART is a `linbench bench --out` folder (table3.csv, summary.csv, bench.json, and
elapsed_s written by the make recipe). OUT gets table3.csv and summary.csv (the first
part's comment lines, the header once, every part's rows) and bench.json (the first
part's meta and params, table3_n the union, every part's points, and the wall time of
each part and in all). Parts must have the same header; written through temp files.
"""
import json
import os
import sys


def fail(msg):
    print("bench_merge.py: " + msg, file=sys.stderr)
    sys.exit(65)


def write_atomic(path, text):
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def merge_csv(parts, name):
    comments, header, rows = [], None, []
    for i, p in enumerate(parts):
        path = os.path.join(p, name)
        if not os.path.exists(path):
            fail("%s: missing (run the part again)" % path)
        lines = open(path).read().splitlines()
        body = [l for l in lines if not l.startswith("#")]
        if not body:
            fail("%s: no header line" % path)
        if header is None:
            header = body[0]
            comments = [l for l in lines if l.startswith("#")]
        elif body[0] != header:
            fail("%s: header differs from %s's" % (path, os.path.join(parts[0], name)))
        rows += body[1:]
    return "\n".join(comments + [header] + rows) + "\n"


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    out, parts = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    docs = []
    for p in parts:
        try:
            docs.append(json.load(open(os.path.join(p, "bench.json"))))
        except (OSError, ValueError) as e:
            fail("%s/bench.json: %s" % (p, e))
    merged = dict(docs[0])
    merged["params"] = dict(docs[0]["params"])
    merged["params"]["table3_n"] = sorted({n for d in docs for n in d["params"]["table3_n"]})
    merged["points"] = [pt for d in docs for pt in d["points"]]
    times = []
    for p in parts:
        try:
            times.append(float(open(os.path.join(p, "elapsed_s")).read()))
        except (OSError, ValueError):
            times.append(None)
    merged["parts"] = [{"folder": os.path.basename(os.path.normpath(p)), "date": d["meta"].get("date"),
                        "elapsed_s": t} for p, d, t in zip(parts, docs, times)]
    merged["elapsed_s_total"] = sum(t for t in times if t is not None)
    for name in ("table3.csv", "summary.csv"):
        write_atomic(os.path.join(out, name), merge_csv(parts, name))
    write_atomic(os.path.join(out, "bench.json"), json.dumps(merged, indent=1) + "\n")
    print("bench_merge.py: %d parts -> %s (%.0f s of benchmark in all)" %
          (len(parts), out, merged["elapsed_s_total"]))


main()
