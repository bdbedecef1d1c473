"""Build a versioned bundle folder: the model, its metadata and the code that serves it.

    bundles/<name>/<version>/
        bundle.json          name, version, tag, model metadata, the params it was created from
        model/model.pkl      the trained model, byte for byte
        src/service.py       the loader a consumer imports
        requirements.txt     the scikit-learn the model was pickled with

No timestamps or host names go in, so the same inputs give the same bundle, hash for hash.
"""
import json
import os
import shutil
import sys

import yaml


def main(bundle_dir):
    with open("params.yaml") as f:
        p = yaml.safe_load(f)["package"]
    with open("models/train_info.json") as f:
        info = json.load(f)

    os.makedirs(os.path.join(bundle_dir, "model"))
    os.makedirs(os.path.join(bundle_dir, "src"))
    shutil.copyfile("models/svc.pkl", os.path.join(bundle_dir, "model", "model.pkl"))
    shutil.copyfile("stages/service.py", os.path.join(bundle_dir, "src", "service.py"))
    with open(os.path.join(bundle_dir, "requirements.txt"), "w") as f:
        f.write(f"scikit-learn=={info['sklearn_version']}\n")

    metadata = {
        "name": p["name"],
        "version": str(p["version"]),
        "tag": f"{p['name']}:{p['version']}",
        "description": p["description"],
        "service": "src/service.py:IrisClassifier",
        "model": {
            "path": "model/model.pkl",
            "framework": info["framework"],
            "sklearn_version": info["sklearn_version"],
            "estimator": info["estimator"],
            "feature_names": info["feature_names"],
            "target_names": info["target_names"],
            "training_accuracy": info["training_accuracy"],
        },
        "created_from": {"params": {"train": info["params"]}},
    }
    with open(os.path.join(bundle_dir, "bundle.json"), "w") as f:
        f.write(json.dumps(metadata, indent=2) + "\n")
    print(f"built bundle {metadata['tag']} in {bundle_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:])
