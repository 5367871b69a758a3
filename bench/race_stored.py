#!/usr/bin/python3
"""Race two stored quantize jobs against each other, N times, side by side.

A grid's per-job speedups are each measured against FP32 in their own job,
minutes apart; two cells that run the same kernels differ there by the
machine's drift (7 % across the 16 bn_fold cells of tune-compact). This
script answers "is A really faster than B" the way `tune` does: it builds a
`race` job request for the two stored models (the same job kind the tune
runs), runs it through `quantgrid exec-job` N times, swapping which model
goes first, and prints B's p50 over A's for every race and their median.

  bench/race_stored.py --db s2.db KEY_A KEY_B [--times 5] [--runs 200]
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def stored_run(db, key):
    """The RunRecord JSON exec-job expects for dependency `key`."""
    row = db.execute("select id, config_hash, kind, engine from runs where job_key = ?", (key,)).fetchone()
    if row is None:
        sys.exit(f"race_stored: no stored run of '{key}'")
    run_id, config_hash, kind, engine = row
    metrics, documents = {}, {}
    for name, value, document in db.execute("select name, value, document from metrics where run_id = ?", (run_id,)):
        if value is not None:
            metrics[name] = value
        else:
            documents[name] = json.loads(document)
    artifacts = [
        {"kind": k, "path": p, "sha256": s, "bytes": b}
        for k, p, s, b in db.execute("select kind, path, sha256, bytes from artifacts where run_id = ?", (run_id,))
    ]
    return {"config_hash": config_hash, "kind": kind, "job_key": key, "engine": engine,
            "metrics": metrics, "documents": documents, "artifacts": artifacts}


def race(quantgrid, deps, dataset, first, second, runs, work):
    config = {"code": "race-1", "a_key": first, "a_hash": deps[first]["config_hash"],
              "b_key": second, "b_hash": deps[second]["config_hash"], "dataset": dataset,
              "engine": deps[first]["engine"] or "onednn", "batch_size": 64, "warmup_runs": 10,
              "runs": runs, "threads": 2}
    request = {"key": f"race/{first}/vs/{second}", "kind": "race", "config": config,
               "config_hash": "bench-race", "deps": deps, "work_dir": work}
    job, result = os.path.join(work, "job.json"), os.path.join(work, "result.json")
    with open(job, "w") as f:
        json.dump(request, f)
    subprocess.run([quantgrid, "exec-job", "--job", job, "--result", result], check=True,
                   stdout=subprocess.DEVNULL)
    with open(result) as f:
        m = json.load(f)["metrics"]
    return m["race.a_p50_ms"], m["race.b_p50_ms"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", required=True)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--times", type=int, default=5)
    p.add_argument("--runs", type=int, default=200, help="timed calls per model per race")
    p.add_argument("--quantgrid", default=os.path.join(HERE, "..", "build", "cli", "quantgrid"))
    args = p.parse_args()
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    deps = {k: stored_run(db, k) for k in (args.a, args.b)}
    row = db.execute("select config from jobs where job_key = ?", (args.a,)).fetchone()
    dataset = json.loads(row[0])["dataset"] if row else {"name": "fashion-mnist"}
    ratios = []
    print(f"A = {args.a}\nB = {args.b}")
    print("| race | first | A p50 (ms) | B p50 (ms) | B / A |\n| ---: | :---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as work:
        for i in range(args.times):
            first, second = (args.a, args.b) if i % 2 == 0 else (args.b, args.a)
            p1, p2 = race(args.quantgrid, deps, dataset, first, second, args.runs, work)
            a, b = (p1, p2) if first == args.a else (p2, p1)
            ratios.append(b / a)
            print(f"| {i + 1} | {'A' if first == args.a else 'B'} | {a:.4f} | {b:.4f} | {b / a:.3f} |", flush=True)
    print(f"median B / A over {args.times} races: {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f}); above 1: A is faster")


if __name__ == "__main__":
    main()
