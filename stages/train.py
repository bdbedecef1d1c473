"""Train the classifier chosen by train.model in params.yaml."""
import sys

from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from common import load_params, load_split, save_model, timed

OUT = "models/model.pkl"


def build_model(p):
    kind, seed = p["model"], p["seed"]
    if kind == "logreg":
        return LogisticRegression(**p["logreg"], random_state=seed)
    if kind == "random_forest":
        return RandomForestClassifier(**p["random_forest"], random_state=seed, n_jobs=1)
    if kind == "gradient_boosting":
        return GradientBoostingClassifier(**p["gradient_boosting"], random_state=seed)
    raise SystemExit(f"unknown train.model: {kind!r}")


def main(params_path="params.yaml"):
    p = load_params(params_path)["train"]
    with timed("train"):
        X, y = load_split("train")
        model = build_model(p).fit(X, y)
        save_model(model, OUT)
    print(f"wrote {OUT} ({p['model']})")


if __name__ == "__main__":
    main(*sys.argv[1:])
