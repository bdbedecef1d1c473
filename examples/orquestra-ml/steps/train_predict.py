"""train-predict: fit the model named by train_predict.model_name and predict the test features.

Writes models/model.pkl and data/predictions.json {"predictions": [0, 1, ...]}.
"""
import os
import pickle

from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from utils import load_params, read_json, save_json

MODELS = {
    "perceptron": lambda seed: Perceptron(random_state=seed),
    "logistic_regression": lambda seed: LogisticRegression(random_state=seed),
    "decision_tree": lambda seed: DecisionTreeClassifier(max_depth=5, random_state=seed),
    "nearest_neighbors": lambda seed: KNeighborsClassifier(n_neighbors=15),
    "svm": lambda seed: SVC(kernel="rbf", random_state=seed),
}


def main():
    p = load_params("train_predict")
    if p["model_name"] not in MODELS:
        raise SystemExit(f"unknown train_predict.model_name {p['model_name']!r}; one of {sorted(MODELS)}")
    features = read_json("data/features.json")
    labels = read_json("data/labels.json")
    model = MODELS[p["model_name"]](p["seed"]).fit(features["train"], labels["train"])
    predictions = [int(label) for label in model.predict(features["test"])]
    os.makedirs("models", exist_ok=True)
    with open("models/model.pkl", "wb") as f:
        pickle.dump(model, f, protocol=5)
    save_json({"predictions": predictions}, "data/predictions.json")
    print(f"trained {p['model_name']}; wrote models/model.pkl and data/predictions.json")


if __name__ == "__main__":
    main()
