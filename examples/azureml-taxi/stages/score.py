"""Score the predictions: mean squared error, its root, mean absolute error and R²."""
import json

import pandas as pd


def main():
    scored = pd.read_csv("data/predictions.csv")
    error = scored["predicted"] - scored["actual"]
    mse = float((error ** 2).mean())
    spread = float(((scored["actual"] - scored["actual"].mean()) ** 2).mean())
    metrics = {
        "mse": round(mse, 6),
        "rmse": round(mse ** 0.5, 6),
        "mae": round(float(error.abs().mean()), 6),
        "r2": round(1 - mse / spread, 6),
        "n_test": len(scored),
    }
    with open("metrics.json", "w") as f:
        f.write(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
