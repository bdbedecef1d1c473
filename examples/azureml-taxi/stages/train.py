"""Hold out a test split and fit a gradient-boosting regressor on the rest."""
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import train_test_split

from common import TARGET, load_params, save_model, write_csv


def main():
    p = load_params("train")
    trips = pd.read_csv("data/features.csv")
    train, test = train_test_split(trips, test_size=p["test_size"], random_state=p["seed"])
    model = GradientBoostingRegressor(
        learning_rate=p["learning_rate"],
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        random_state=p["seed"],
    )
    model.fit(train.drop(columns=TARGET), train[TARGET])
    save_model(model, "models/model.pkl")
    write_csv(test, "data/test.csv")
    print(f"trained on {len(train)} trips, held out {len(test)} for testing")


if __name__ == "__main__":
    main()
