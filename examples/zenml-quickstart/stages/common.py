"""Small helpers shared by the quickstart stages: params, CSV writing with stable bytes, pickles."""
import os
import pickle

import yaml


def load_params(*sections):
    """The named sections of params.yaml (one section: that section itself)."""
    with open("params.yaml") as f:
        params = yaml.safe_load(f)
    return params[sections[0]] if len(sections) == 1 else [params[s] for s in sections]


def write_csv(df, path, float_format="%.6f"):
    """Write a table so that the same data always gives the same bytes (None: shortest repr)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    df.to_csv(path, index=False, float_format=float_format, lineterminator="\n")


def save_model(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=5)


def load_model(path):
    with open(path, "rb") as f:
        return pickle.load(f)
