"""Evaluate on the test split: binary cross-entropy (log loss) and accuracy, into metrics.json."""
import json

import pandas as pd
from sklearn.metrics import accuracy_score, log_loss

from common import load_model, load_params


def main():
    label = load_params("preprocess")["label"]
    model = load_model("models/model.pkl")
    test = pd.read_csv("data/preprocessed/test.csv")
    X, y = test.drop(columns=label), test[label]
    metrics = {
        "binary_crossentropy": round(float(log_loss(y, model.predict_proba(X)[:, 1])), 6),
        "accuracy": round(float(accuracy_score(y, model.predict(X))), 6),
        "n_test": len(test),
    }
    with open("metrics.json", "w") as f:
        f.write(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
