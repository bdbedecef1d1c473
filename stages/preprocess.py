"""Split the raw data into train/test and standard-scale the features."""
import os
import sys

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from common import FEATURES_DIR, FLOAT_FORMAT, LABEL, load_params

RAW = "data/raw.csv"


def main(params_path="params.yaml"):
    p = load_params(params_path)["preprocess"]
    df = pd.read_csv(RAW)
    train, test = train_test_split(
        df, test_size=p["test_size"], random_state=p["seed"], stratify=df[LABEL]
    )
    features = [c for c in df.columns if c != LABEL]
    scaler = StandardScaler().fit(train[features])
    os.makedirs(FEATURES_DIR, exist_ok=True)
    for name, split in (("train", train), ("test", test)):
        out = pd.DataFrame(scaler.transform(split[features]), columns=features)
        out[LABEL] = split[LABEL].to_numpy()
        path = os.path.join(FEATURES_DIR, f"{name}.csv")
        out.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        print(f"wrote {path}: {len(out)} rows")


if __name__ == "__main__":
    main(*sys.argv[1:])
