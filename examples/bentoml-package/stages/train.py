"""Fit an SVC on the iris data shipped with scikit-learn (no download).

Writes the pickled model and train_info.json: what the package stage puts in the bundle's
metadata (feature and class names, the scikit-learn version, the params the model came from).
"""
import json
import os
import pickle

import sklearn
import yaml
from sklearn.datasets import load_iris
from sklearn.svm import SVC


def main():
    with open("params.yaml") as f:
        p = yaml.safe_load(f)["train"]
    iris = load_iris()
    model = SVC(C=p["C"], kernel=p["kernel"], gamma=p["gamma"])
    model.fit(iris.data, iris.target)

    os.makedirs("models", exist_ok=True)
    with open("models/svc.pkl", "wb") as f:
        pickle.dump(model, f, protocol=5)
    info = {
        "framework": "scikit-learn",
        "sklearn_version": sklearn.__version__,
        "estimator": type(model).__name__,
        "feature_names": list(iris.feature_names),
        "target_names": [str(name) for name in iris.target_names],
        "params": p,
        "training_accuracy": round(float(model.score(iris.data, iris.target)), 6),
    }
    with open("models/train_info.json", "w") as f:
        f.write(json.dumps(info, indent=2) + "\n")
    print(f"trained {info['estimator']} on {len(iris.target)} flowers, "
          f"training accuracy {info['training_accuracy']}")


if __name__ == "__main__":
    main()
