"""The serving code shipped inside each bundle (the bundle's src/service.py).

A consumer needs only this file and the bundle folder: no pipetool, no params.yaml.

    from service import IrisClassifier
    clf = IrisClassifier("bundles/iris_clf/1.0.0")
    clf.predict([[5.1, 3.5, 1.4, 0.2]])   # [{"class_index": 0, "class_name": "setosa"}]
"""
import json
import os
import pickle
import warnings

import sklearn


class IrisClassifier:
    def __init__(self, bundle_dir):
        with open(os.path.join(bundle_dir, "bundle.json")) as f:
            self.metadata = json.load(f)
        model_info = self.metadata["model"]
        if model_info["sklearn_version"] != sklearn.__version__:
            warnings.warn(f"bundle was built with scikit-learn {model_info['sklearn_version']}, "
                          f"this is {sklearn.__version__}")
        with open(os.path.join(bundle_dir, model_info["path"]), "rb") as f:
            self.model = pickle.load(f)
        self.features = model_info["feature_names"]
        self.classes = model_info["target_names"]

    def predict(self, rows):
        """Class index and name for each row of measurements (in the order of self.features)."""
        for row in rows:
            if len(row) != len(self.features):
                raise ValueError(f"expected {len(self.features)} values {self.features}, got {row}")
        return [{"class_index": int(i), "class_name": self.classes[int(i)]}
                for i in self.model.predict(rows)]
