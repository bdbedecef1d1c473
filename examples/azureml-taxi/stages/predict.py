"""Predict the fare of every test trip with the trained model."""
import pandas as pd

from common import TARGET, load_model, write_csv


def main():
    model = load_model("models/model.pkl")
    test = pd.read_csv("data/test.csv")
    predicted = model.predict(test.drop(columns=TARGET))
    write_csv(pd.DataFrame({"actual": test[TARGET], "predicted": predicted}), "data/predictions.csv")
    print(f"wrote {len(test)} predictions to data/predictions.csv")


if __name__ == "__main__":
    main()
