"""accuracy: the share of test labels the model predicted right. Writes metrics/accuracy.json."""
from utils import read_json, save_json

OUT = "metrics/accuracy.json"


def main():
    labels = read_json("data/labels.json")["test"]
    predictions = read_json("data/predictions.json")["predictions"]
    if len(labels) != len(predictions):
        raise SystemExit(f"{len(labels)} labels but {len(predictions)} predictions")
    accuracy = sum(a == b for a, b in zip(labels, predictions)) / len(labels)
    save_json({"accuracy": round(accuracy, 6)}, OUT)
    print(f"accuracy {accuracy:.4f}; wrote {OUT}")


if __name__ == "__main__":
    main()
