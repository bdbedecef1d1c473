"""preprocess-data: split the data set into features and labels, each with a train and a test part.

Writes data/features.json {"train": [[x0, x1], ...], "test": [...]} and
data/labels.json {"train": [0, 1, ...], "test": [...]}.
"""
import random

from utils import load_params, read_json, save_json


def main():
    p = load_params("preprocess_data")
    data = read_json("data/data.json")
    rows = list(data["rows"])
    random.Random(p["seed"]).shuffle(rows)
    n_test = round(len(rows) * p["test_fraction"])
    parts = {"test": rows[:n_test], "train": rows[n_test:]}
    save_json({name: [row[:-1] for row in part] for name, part in parts.items()}, "data/features.json")
    save_json({name: [row[-1] for row in part] for name, part in parts.items()}, "data/labels.json")
    print(f"wrote data/features.json and data/labels.json: {len(parts['train'])} train, {n_test} test rows")


if __name__ == "__main__":
    main()
