"""Smoke-test a bundle the way a consumer would: import its own service code, load, predict.

The prediction for the first smoke.sample row goes into metrics.json, so a change in what the
packaged model answers shows up in `pipetool metrics diff`.
"""
import json
import os
import sys

import yaml


def main(bundle_dir):
    with open("params.yaml") as f:
        sample = yaml.safe_load(f)["smoke"]["sample"]
    sys.path.insert(0, os.path.join(bundle_dir, "src"))
    from service import IrisClassifier

    classifier = IrisClassifier(bundle_dir)
    predictions = classifier.predict(sample)
    for row, prediction in zip(sample, predictions):
        print(f"{classifier.metadata['tag']}: {row} -> {prediction['class_index']} ({prediction['class_name']})")
    with open("metrics.json", "w") as f:
        f.write(json.dumps({"prediction": predictions[0]}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
