"""Merge the green and yellow tables into one table with one set of column names."""
import pandas as pd

from common import write_csv

COLUMNS = ["vendor", "pickup_datetime", "dropoff_datetime", "pickup_longitude", "pickup_latitude",
           "dropoff_longitude", "dropoff_latitude", "passengers", "distance", "fare_amount"]


def normalise(table):
    """Lower-case names, drop the fleet's prefix on the datetime columns, keep COLUMNS only."""
    names = {}
    for column in table.columns:
        name = column.lower()
        for prefix in ("lpep_", "tpep_"):
            name = name.removeprefix(prefix)
        names[column] = {"vendorid": "vendor", "passenger_count": "passengers",
                         "trip_distance": "distance"}.get(name, name)
    return table.rename(columns=names)[COLUMNS]


def main():
    green = normalise(pd.read_csv("data/raw/green.csv")).assign(cab="green")
    yellow = normalise(pd.read_csv("data/raw/yellow.csv")).assign(cab="yellow")
    merged = pd.concat([green, yellow], ignore_index=True)
    merged = merged.sort_values(["pickup_datetime", "cab"], kind="stable").drop(columns="cab")
    write_csv(merged, "data/merged.csv", float_format=None)
    print(f"merged {len(green)} green and {len(yellow)} yellow trips into data/merged.csv")


if __name__ == "__main__":
    main()
