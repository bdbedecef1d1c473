"""Random split of the rows into train and test, by the fractions in params.yaml."""
import numpy as np
import pandas as pd

from common import load_params, write_csv


def main():
    p = load_params("split")
    if abs(p["train"] + p["test"] - 1) > 1e-9:
        raise SystemExit(f"split.train + split.test must be 1, not {p['train'] + p['test']}")
    table = pd.read_csv("data/diabetes.csv")
    order = np.random.default_rng(p["seed"]).permutation(len(table))
    n_train = round(p["train"] * len(table))
    write_csv(table.iloc[np.sort(order[:n_train])], "data/split/train.csv", float_format=None)
    write_csv(table.iloc[np.sort(order[n_train:])], "data/split/test.csv", float_format=None)
    print(f"train: {n_train} rows, test: {len(table) - n_train} rows")


if __name__ == "__main__":
    main()
