"""Generate a deterministic synthetic binary classification data set."""
import os
import sys

import pandas as pd
from sklearn.datasets import make_classification

from common import FLOAT_FORMAT, LABEL, load_params

OUT = "data/raw.csv"


def main(params_path="params.yaml"):
    p = load_params(params_path)["generate"]
    X, y = make_classification(
        n_samples=p["n_samples"],
        n_features=p["n_features"],
        n_informative=p["n_informative"],
        n_redundant=p["n_redundant"],
        class_sep=p["class_sep"],
        weights=p["weights"],
        flip_y=p["flip_y"],
        random_state=p["seed"],
    )
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df[LABEL] = y
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    df.to_csv(OUT, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    print(f"wrote {OUT}: {len(df)} rows, positive rate {y.mean():.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
