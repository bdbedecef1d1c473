"""Helpers shared by the steps."""
import json
import os

import yaml


def load_params(section, path="params.yaml"):
    with open(path) as f:
        return yaml.safe_load(f)[section]


def save_json(obj, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, sort_keys=True, indent=2)
        f.write("\n")


def save_npz(path, **arrays):
    """np.savez writes no timestamps, so the same arrays give the same bytes."""
    import numpy as np

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def rmse(actual, predicted):
    import numpy as np

    return round(float(np.sqrt(np.mean((np.asarray(actual) - np.asarray(predicted)) ** 2))), 6)
