"""generate-data: a small two-class data set in 2-D, deterministic for a given seed.

Writes data/data.json: {"columns": ["x0", "x1", "label"], "rows": [[x0, x1, label], ...]}.
"""
import numpy as np

from utils import load_params, save_json

OUT = "data/data.json"


def make_moons(n, rng):
    """Two interleaving half circles: not linearly separable."""
    half = n // 2
    t_top = rng.uniform(0.0, np.pi, half)
    t_bottom = rng.uniform(0.0, np.pi, n - half)
    top = np.column_stack([np.cos(t_top), np.sin(t_top)])
    bottom = np.column_stack([1.0 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)])
    return np.vstack([top, bottom]), np.array([0] * half + [1] * (n - half))


def make_blobs(n, rng):
    """Two gaussian clouds around (-1, -1) and (1, 1)."""
    half = n // 2
    points = np.vstack([rng.normal(-1.0, 1.0, (half, 2)), rng.normal(1.0, 1.0, (n - half, 2))])
    return points, np.array([0] * half + [1] * (n - half))


DATASETS = {"moons": make_moons, "blobs": make_blobs}


def main():
    p = load_params("generate_data")
    if p["dataset_name"] not in DATASETS:
        raise SystemExit(f"unknown generate_data.dataset_name {p['dataset_name']!r}; one of {sorted(DATASETS)}")
    rng = np.random.default_rng(p["seed"])
    X, y = DATASETS[p["dataset_name"]](p["n_samples"], rng)
    X = X + rng.normal(0.0, p["noise"], X.shape)
    rows = [[round(float(a), 6), round(float(b), 6), int(label)] for (a, b), label in zip(X, y)]
    save_json({"columns": ["x0", "x1", "label"], "rows": rows}, OUT)
    print(f"wrote {OUT}: {len(rows)} rows of {p['dataset_name']!r}")


if __name__ == "__main__":
    main()
