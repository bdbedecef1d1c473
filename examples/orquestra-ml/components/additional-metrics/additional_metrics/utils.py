"""JSON in and out, so the component needs nothing from the pipeline that uses it."""
import json
import os


def read_json(path):
    with open(path) as f:
        return json.load(f)


def save_json(obj, path):
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, sort_keys=True, indent=1)
        f.write("\n")
