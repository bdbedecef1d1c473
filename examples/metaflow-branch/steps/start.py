"""start: read the train and valid tables, drop blank reviews, label each review.

Writes data/train.csv and data/valid.csv with columns (review, label), label 1 for a positive review.
"""
import csv

import yaml


def main():
    with open("params.yaml") as f:
        threshold = yaml.safe_load(f)["start"]["positive_from_rating"]
    for name in ("train", "valid"):
        with open(f"data/raw/{name}.csv", newline="") as f:
            rows = [row for row in csv.DictReader(f) if row["review_text"].strip()]
        with open(f"data/{name}.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["review", "label"])
            for row in rows:
                writer.writerow([row["review_text"].strip().lower(), int(int(row["rating"]) >= threshold)])
        positive = sum(int(row["rating"]) >= threshold for row in rows)
        print(f"data/{name}.csv: {len(rows)} reviews, {positive / len(rows):.1%} positive")


if __name__ == "__main__":
    main()
