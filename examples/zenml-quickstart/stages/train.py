"""Train a small feed-forward network (scikit-learn's MLPClassifier) for a fixed number of epochs."""
import warnings

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from common import load_params, save_model


def main():
    p, label = load_params("train", "preprocess")
    label = label["label"]
    train = pd.read_csv("data/preprocessed/train.csv")
    model = MLPClassifier(
        hidden_layer_sizes=tuple(p["hidden_layers"]),
        max_iter=p["epochs"],                      # one iteration of adam = one epoch
        batch_size=p["batch_size"],
        learning_rate_init=p["learning_rate"],
        random_state=p["seed"],
    )
    with warnings.catch_warnings():
        # A fixed epoch budget is the point here, so "did not converge yet" is noise.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train.drop(columns=label), train[label])
    save_model(model, "models/model.pkl")
    print(f"trained {p['epochs']} epochs, final training loss {model.loss_:.4f}")


if __name__ == "__main__":
    main()
