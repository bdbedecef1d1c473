"""end: a short Markdown report of the run, with a verdict. Writes report.md."""
import json


def main():
    with open("metrics.json") as f:
        m = json.load(f)
    beats = all(m["model"][k] > m["baseline"][k] for k in ("accuracy", "roc_auc"))
    lines = [
        "| | accuracy | ROC AUC |",
        "|---|---|---|",
        f"| baseline | {m['baseline']['accuracy']:.4f} | {m['baseline']['roc_auc']:.4f} |",
        f"| model | {m['model']['accuracy']:.4f} | {m['model']['roc_auc']:.4f} |",
        "",
        "The model beats the baseline." if beats else "The model does NOT beat the baseline.",
    ]
    with open("report.md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
