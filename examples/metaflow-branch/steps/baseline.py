"""baseline: predict the majority class of the train table for every valid review.

Writes results/baseline.json with its accuracy and ROC AUC on the valid table.
"""
from collections import Counter

from common import handshake, read_table, save_json, scores

OUT = "results/baseline.json"


def main():
    handshake("baseline")
    _, train_labels = read_table("data/train.csv")
    _, valid_labels = read_table("data/valid.csv")
    majority = Counter(train_labels).most_common(1)[0][0]
    predictions = [majority] * len(valid_labels)
    result = {"majority_class": majority, **scores(valid_labels, predictions, predictions)}
    save_json(result, OUT)
    print(f"baseline (always {majority}): accuracy {result['accuracy']:.4f}, ROC AUC {result['roc_auc']:.4f}")


if __name__ == "__main__":
    main()
