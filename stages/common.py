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


# The stages that may run at the same time (`pipetool repro -j 2`): neither depends on the other.
PARALLEL = ("baseline", "train")


def _handshake(stage):
    """Meet the other parallel stage: write <folder>/<stage>.started, then wait for its file.

    Both stages getting past this proves that they ran at the same time. One that waits longer
    than PIPETOOL_EXAMPLE_HANDSHAKE_TIMEOUT seconds (default 60) exits non-zero.
    """
    folder = os.environ.get("PIPETOOL_EXAMPLE_HANDSHAKE")
    if not folder:
        return
    with open(os.path.join(folder, f"{stage}.started"), "w"):
        pass
    timeout = float(os.environ.get("PIPETOOL_EXAMPLE_HANDSHAKE_TIMEOUT") or 60)
    deadline = time.monotonic() + timeout
    for other in (name for name in PARALLEL if name != stage):
        while not os.path.exists(os.path.join(folder, f"{other}.started")):
            if time.monotonic() > deadline:
                raise SystemExit(f"{stage}: stage '{other}' did not start within {timeout:g} s "
                                 f"of this one (PIPETOOL_EXAMPLE_HANDSHAKE={folder})")
            time.sleep(0.02)


@contextlib.contextmanager
def timed(stage):
    """Test hooks, off unless their env var is set; neither changes what the stage writes.

    PIPETOOL_EXAMPLE_TIMING=<file> appends "<stage> start|end <time>" lines;
    PIPETOOL_EXAMPLE_HANDSHAKE=<folder> makes each of the PARALLEL stages wait for the other.
    """
    _log_timing(stage, "start")
    if stage in PARALLEL:
        _handshake(stage)
    yield
    _log_timing(stage, "end")
