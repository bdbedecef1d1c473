"""Filter out trips outside the city or with broken fares, and derive calendar features."""
import pandas as pd

from common import TARGET, load_params, write_csv


def main():
    p = load_params("transform")
    box = p["bbox"]
    trips = pd.read_csv("data/merged.csv")

    inside = pd.Series(True, index=trips.index)
    for end in ("pickup", "dropoff"):
        inside &= trips[f"{end}_latitude"].between(box["min_lat"], box["max_lat"])
        inside &= trips[f"{end}_longitude"].between(box["min_lon"], box["max_lon"])
    fare_ok = trips[TARGET].between(p["min_fare"], p["max_fare"])
    kept = trips[inside & fare_ok & (trips["distance"] > 0) & (trips["passengers"] > 0)].copy()

    for end in ("pickup", "dropoff"):
        when = pd.to_datetime(kept.pop(f"{end}_datetime"))
        kept[f"{end}_weekday"] = when.dt.day_of_week
        kept[f"{end}_monthday"] = when.dt.day
        kept[f"{end}_month"] = when.dt.month
        kept[f"{end}_hour"] = when.dt.hour
        kept[f"{end}_minute"] = when.dt.minute

    write_csv(kept, "data/features.csv")
    print(f"kept {len(kept)} of {len(trips)} trips "
          f"({(~inside).sum()} outside the box, {(~fare_ok).sum()} with a bad fare)")


if __name__ == "__main__":
    main()
