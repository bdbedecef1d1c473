"""Reading and writing the JSON artifacts that the steps pass to each other."""
import json
import os

import yaml


def load_params(section, path="params.yaml"):
    """One section of params.yaml."""
    with open(path) as f:
        return yaml.safe_load(f)[section]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def save_json(obj, path):
    """Write JSON with sorted keys and a final newline, so the same data gives the same bytes."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, sort_keys=True, indent=1)
        f.write("\n")
