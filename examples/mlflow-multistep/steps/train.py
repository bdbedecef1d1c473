"""train (the original's train_keras): a net that predicts a rating from the ALS factors of its
user and movie; two hidden layers, 30 units and then train.hidden_units, as the original's Keras
model has (sklearn's MLPRegressor standing in for Keras).

Writes models/model.pkl and metrics/train.json (RMSE on train and test).
"""
import os
import pickle
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from common import load_params, rmse, save_json


def main():
    p = load_params("train")
    data = np.load("data/ratings.npz")
    als = np.load("models/als.npz")
    features = np.hstack([als["user_factors"][data["user"]], als["movie_factors"][data["movie"]]])
    test = data["is_test"]
    net = MLPRegressor(hidden_layer_sizes=(30, p["hidden_units"]), max_iter=p["max_iter"],
                       random_state=p["seed"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs, as in Keras
        net.fit(features[~test], data["rating"][~test])

    def predict(rows):
        return np.clip(net.predict(features[rows]), 0.5, 5.0)

    metrics = {
        "train_rmse": rmse(data["rating"][~test], predict(~test)),
        "test_rmse": rmse(data["rating"][test], predict(test)),
    }
    os.makedirs("models", exist_ok=True)
    with open("models/model.pkl", "wb") as f:
        pickle.dump(net, f, protocol=5)
    save_json(metrics, "metrics/train.json")
    print(f"net with {p['hidden_units']} hidden units: test RMSE {metrics['test_rmse']:.4f}")


if __name__ == "__main__":
    main()
