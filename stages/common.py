"""Small helpers shared by the example pipeline stages."""
import contextlib
import os
import pickle
import time

import pandas as pd
import yaml

FEATURES_DIR = "data/features"
LABEL = "label"
FLOAT_FORMAT = "%.6f"


def load_params(path="params.yaml"):
    """Return the parsed params file."""
    with open(path) as f:
        return yaml.safe_load(f)


def load_split(name):
    """Return (X, y) for the 'train' or 'test' split."""
    df = pd.read_csv(os.path.join(FEATURES_DIR, f"{name}.csv"))
    return df.drop(columns=[LABEL]), df[LABEL]


def save_model(model, path):
    """Pickle a model with a fixed protocol so the bytes are reproducible."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=5)


def load_model(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def _log_timing(stage, event):
    path = os.environ.get("PIPETOOL_EXAMPLE_TIMING")
    if path:
        with open(path, "a") as f:
            f.write(f"{stage} {event} {time.time()}\n")


@contextlib.contextmanager
def timed(stage):
    """Test hook: log start/end times and optionally sleep, driven by env vars.

    PIPETOOL_EXAMPLE_TIMING=<file> appends "<stage> start|end <time>" lines;
    PIPETOOL_EXAMPLE_SLEEP=<seconds> sleeps inside the stage. Neither affects outputs.
    """
    _log_timing(stage, "start")
    sleep = float(os.environ.get("PIPETOOL_EXAMPLE_SLEEP") or 0)
    if sleep > 0:
        time.sleep(sleep)
    yield
    _log_timing(stage, "end")
