"""Standard preprocessing: z-score the selected features with the train split's mean and
standard deviation (so nothing leaks from test), pass the label through as it is."""
import json

import pandas as pd

from common import load_params, write_csv


def main():
    p = load_params("preprocess")
    features, label = p["features"], p["label"]
    train = pd.read_csv("data/split/train.csv")
    test = pd.read_csv("data/split/test.csv")

    mean = train[features].mean()
    std = train[features].std(ddof=0)          # population std, as scikit-learn's StandardScaler
    for name, split in (("train", train), ("test", test)):
        scaled = (split[features] - mean) / std
        scaled[label] = split[label]
        write_csv(scaled, f"data/preprocessed/{name}.csv")

    scaler = {f: {"mean": round(float(mean[f]), 6), "std": round(float(std[f]), 6)} for f in features}
    with open("data/preprocessed/scaler.json", "w") as f:
        f.write(json.dumps(scaler, indent=2) + "\n")
    print(f"scaled {len(features)} features; label '{label}' untouched")


if __name__ == "__main__":
    main()
