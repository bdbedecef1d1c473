"""Score the model and the baseline on the test split; write metrics, ROC and confusion data."""
import json
import os

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve

from common import FLOAT_FORMAT, load_model, load_split

METRICS = "metrics.json"
ROC = "plots/roc.csv"
CONFUSION = "plots/confusion.csv"


def score(model, X, y):
    pred = model.predict(X)
    proba = model.predict_proba(X)[:, 1]
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 6),
        "f1": round(float(f1_score(y, pred, zero_division=0)), 6),
        "roc_auc": round(float(roc_auc_score(y, proba)), 6),
    }


def main():
    X, y = load_split("test")
    model = load_model("models/model.pkl")
    baseline = load_model("models/baseline.pkl")
    metrics = {"model": score(model, X, y), "baseline": score(baseline, X, y)}
    with open(METRICS, "w") as f:
        f.write(json.dumps(metrics, sort_keys=True, indent=2) + "\n")

    fpr, tpr, _ = roc_curve(y, model.predict_proba(X)[:, 1])
    os.makedirs(os.path.dirname(ROC), exist_ok=True)
    pd.DataFrame({"fpr": fpr, "tpr": tpr}).to_csv(
        ROC, index=False, float_format=FLOAT_FORMAT, lineterminator="\n"
    )
    pd.DataFrame({"actual": y, "predicted": model.predict(X)}).to_csv(
        CONFUSION, index=False, lineterminator="\n"
    )
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
