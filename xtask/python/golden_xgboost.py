"""Trains small XGBoost models with the `xgboost` wheel and records `predict_proba` on test rows, for
trove-pdf's XGBoost evaluator (crates/trove-pdf/tests/xgboost.rs). Also scores the seed's OCR-routing
model on generated rows. Run by `cargo xtask golden-pdf`.

usage: golden_xgboost.py OUT_DIR SEED_MODEL
"""
import json
import sys
from pathlib import Path

import numpy as np
import xgboost as xgb


def rows_with_thresholds(model_json, n_features, rng, count):
    """Rows whose values sit exactly on split thresholds (the `<` rule) or are missing."""
    trees = model_json["learner"]["gradient_booster"]["model"]["trees"]
    splits = [
        (f, np.float32(c))
        for t in trees
        for f, c, l in zip(t["split_indices"], t["split_conditions"], t["left_children"])
        if l != -1
    ]
    rows = rng.normal(size=(count, n_features)).astype(np.float32)
    for r in range(count):
        for _ in range(4):
            f, c = splits[rng.integers(len(splits))]
            rows[r, f] = c
        rows[r, rng.random(n_features) < 0.15] = np.nan
    return rows


def train(params, x, y, rounds):
    params = {"objective": "binary:logistic", **params}
    return xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=rounds)


def predictor(booster):
    """`predict_proba(rows)[:, 1]` of the scikit-learn wrapper: the booster's prediction."""
    return lambda rows: booster.predict(xgb.DMatrix(rows, missing=np.nan))


def record(out, name, predict, rows):
    proba = predict(rows)
    cases = [[None if np.isnan(v) else float(v) for v in row] for row in rows]
    return {"model": name, "rows": cases, "proba": [float(p) for p in proba]}


def main():
    out, seed_model = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    results = []

    # A: intercept estimated from the data (XGBoost >= 2), 20% missing values.
    x = rng.normal(size=(600, 12)).astype(np.float32)
    y = ((x[:, 0] * x[:, 1] + np.sin(3 * x[:, 2]) - 0.5 * x[:, 3]) > 0.2).astype(int)
    x[rng.random(x.shape) < 0.2] = np.nan
    a = train({"max_depth": 4, "eta": 0.3, "seed": 0}, x, y, 30)
    a.save_model(out / "a.json")
    a.save_model(out / "a.ubj")
    rows = rows_with_thresholds(json.loads((out / "a.json").read_text()), 12, rng, 150)
    for name in ["a.json", "a.ubj"]:
        results.append(record(out, name, predictor(a), rows))

    # B: explicit base score, deeper trees, integer-like features (counts, as the PDF features are).
    x = rng.integers(0, 50, size=(800, 20)).astype(np.float32)
    y = ((x[:, 0] + 2 * x[:, 5] - x[:, 7] * 0.5 + rng.normal(size=800) * 5) > 40).astype(int)
    x[rng.random(x.shape) < 0.1] = np.nan
    b = train({"max_depth": 6, "eta": 0.2, "base_score": 0.3, "seed": 1}, x, y, 40)
    b.save_model(out / "b.json")
    b.save_model(out / "b.ubj")
    rows = rows_with_thresholds(json.loads((out / "b.json").read_text()), 20, rng, 150)
    for name in ["b.json", "b.ubj"]:
        results.append(record(out, name, predictor(b), rows))

    # C: UBJSON only.
    x = rng.normal(size=(400, 6)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(int)
    booster = train({"max_depth": 3, "eta": 0.5, "seed": 0}, x, y, 15)
    booster.save_model(out / "c.ubj")
    rows = rng.normal(size=(100, 6)).astype(np.float32)
    rows[rng.random(rows.shape) < 0.2] = np.nan
    results.append(record(out, "c.ubj", predictor(booster), rows))

    # The seed's model, on rows shaped like its features (counts, ratios, flags, missing pages).
    seed = xgb.Booster()
    seed.load_model(seed_model)
    n = seed.num_features()
    rows = np.zeros((60, n), dtype=np.float32)
    for r in range(60):
        pages = int(rng.integers(1, 9))
        rows[r, 0] = pages
        rows[r, 1] = rng.choice([0.0, rng.random()])
        rows[r, 2] = rng.integers(0, 2)
        rows[r, 3] = rng.integers(0, 2)
        for k in range(15):
            for p in range(8):
                i = 4 + k * 8 + p
                rows[r, i] = rng.choice([rng.integers(0, 3000), rng.random()]) if p < pages else np.nan
    results.append(
        record(out, "seed", predictor(seed), rows)
    )
    (out / "cases.json").write_text(json.dumps({"xgboost": xgb.__version__, "cases": results}))


if __name__ == "__main__":
    main()
