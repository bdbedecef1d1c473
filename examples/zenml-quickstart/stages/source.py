"""The CSV data source: a diabetes-screening table with the columns of the classic Pima data set.

The values are generated, not downloaded: plausible ranges for each measurement, and a label drawn
from a logistic model of glucose, BMI, age, pedigree and pregnancies, so there is signal to learn.
"""
import numpy as np
import pandas as pd

from common import load_params, write_csv


def main():
    p = load_params("source")
    rng = np.random.default_rng(p["seed"])
    n = p["rows"]
    age = np.clip(21 + rng.gamma(1.6, 8.0, n), 21, 81).round()
    table = pd.DataFrame({
        "times_pregnant": np.clip(rng.poisson(1.5 + (age - 21) / 10), 0, 17),
        "pgc": np.clip(rng.normal(120, 30, n), 44, 199).round(),           # plasma glucose
        "dbp": np.clip(rng.normal(70, 12, n) + (age - 33) / 5, 24, 122).round(),  # blood pressure
        "tst": np.clip(rng.normal(29, 10, n), 7, 99).round(),              # triceps skin fold
        "insulin": np.clip(rng.lognormal(4.8, 0.5, n), 14, 846).round(),
        "bmi": np.clip(rng.normal(32, 7, n), 18, 67).round(1),
        "pedigree": np.clip(rng.lognormal(-0.9, 0.6, n), 0.078, 2.42).round(3),
        "age": age,
    })
    z = lambda column: (table[column] - table[column].mean()) / table[column].std()
    logit = (-0.8 + 1.9 * z("pgc") + 0.9 * z("bmi") + 0.6 * z("age") + 0.5 * z("pedigree")
             + 0.3 * z("times_pregnant") + 0.2 * z("insulin"))
    table["has_diabetes"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    write_csv(table.astype({c: int for c in ["times_pregnant", "pgc", "dbp", "tst", "insulin", "age"]}),
              "data/diabetes.csv", float_format=None)
    print(f"wrote data/diabetes.csv ({n} rows, {table['has_diabetes'].mean():.0%} positive)")


if __name__ == "__main__":
    main()
