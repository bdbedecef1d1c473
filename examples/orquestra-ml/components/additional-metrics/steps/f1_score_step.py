"""The component's step: f1_score_step.py LABELS_JSON PREDICTIONS_JSON OUT_JSON.

LABELS_JSON holds {"test": [...]} (or {"labels": [...]}), PREDICTIONS_JSON {"predictions": [...]};
OUT_JSON gets {"f1_score": value}.
"""
import os
import sys

# Run from a checkout of the component: its package sits one folder up from this file.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from additional_metrics import calculate_f1_score  # noqa: E402
from additional_metrics.utils import read_json, save_json  # noqa: E402


def main(labels_path, predictions_path, out_path):
    labels_doc = read_json(labels_path)
    labels = labels_doc["test"] if "test" in labels_doc else labels_doc["labels"]
    predictions = read_json(predictions_path)["predictions"]
    f1 = calculate_f1_score(labels, predictions)
    save_json({"f1_score": round(f1, 6)}, out_path)
    print(f"f1-score {f1:.4f}; wrote {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__.splitlines()[0])
    main(*sys.argv[1:])
