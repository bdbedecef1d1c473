"""join: put the two branches side by side. Writes metrics.json."""
import json


def read(path):
    with open(path) as f:
        return json.load(f)


def main():
    baseline, model = read("results/baseline.json"), read("results/model.json")
    metrics = {
        "baseline": {k: baseline[k] for k in ("accuracy", "roc_auc")},
        "model": {k: model[k] for k in ("accuracy", "roc_auc")},
        "lift": {k: round(model[k] - baseline[k], 6) for k in ("accuracy", "roc_auc")},
    }
    with open("metrics.json", "w") as f:
        json.dump(metrics, f, sort_keys=True, indent=2)
        f.write("\n")
    for key in ("accuracy", "roc_auc"):
        print(f"{key}: model {model[key]:.4f} vs baseline {baseline[key]:.4f}")


if __name__ == "__main__":
    main()
