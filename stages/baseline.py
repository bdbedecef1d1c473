"""Fit a majority-class (dummy) baseline classifier."""
import sys

from sklearn.dummy import DummyClassifier

from common import load_params, load_split, save_model, timed

OUT = "models/baseline.pkl"


def main(params_path="params.yaml"):
    p = load_params(params_path)["baseline"]
    with timed("baseline"):
        X, y = load_split("train")
        model = DummyClassifier(strategy=p["strategy"], random_state=p["seed"])
        model.fit(X, y)
        save_model(model, OUT)
    print(f"wrote {OUT} ({p['strategy']})")


if __name__ == "__main__":
    main(*sys.argv[1:])
