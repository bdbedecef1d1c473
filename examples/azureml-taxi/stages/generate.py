"""Write two small taxi-trip tables shaped like the public NYC TLC green and yellow data.

The two fleets name their columns differently (as the real tables do), which is what the prep
stage has to reconcile. A few trips carry the defects the transform stage filters out: GPS
coordinates of 0, and zero, negative or absurd fares. Everything comes from one seeded generator.
"""
import numpy as np
import pandas as pd

from common import load_params, write_csv

GREEN_COLUMNS = {  # common name -> column name in the green table
    "vendor": "VendorID",
    "pickup_datetime": "lpep_pickup_datetime",
    "dropoff_datetime": "Lpep_dropoff_datetime",
    "pickup_longitude": "Pickup_longitude",
    "pickup_latitude": "Pickup_latitude",
    "dropoff_longitude": "Dropoff_longitude",
    "dropoff_latitude": "Dropoff_latitude",
    "passengers": "Passenger_count",
    "distance": "Trip_distance",
    "payment_type": "Payment_type",
    "fare_amount": "Fare_amount",
}
YELLOW_COLUMNS = {
    "vendor": "vendorID",
    "pickup_datetime": "tpep_pickup_datetime",
    "dropoff_datetime": "tpep_dropoff_datetime",
    "pickup_longitude": "pickup_longitude",
    "pickup_latitude": "pickup_latitude",
    "dropoff_longitude": "dropoff_longitude",
    "dropoff_latitude": "dropoff_latitude",
    "passengers": "passenger_count",
    "distance": "trip_distance",
    "payment_type": "payment_type",
    "fare_amount": "fare_amount",
}

# Share of trips starting in each hour of the day: quiet at night, busy in the evening.
HOUR_WEIGHTS = np.array([3, 2, 1.5, 1, 1, 1.5, 3, 5, 6, 6, 5.5, 5.5,
                         6, 6, 6, 6, 6.5, 7, 7.5, 7.5, 7, 6.5, 6, 4.5])


def trips(rng, n, start, days, center, spread):
    """n trips: times, places, distances and fares that follow a simple NYC tariff."""
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = rng.integers(0, 3600, n)
    pickup = pd.Timestamp(start) + pd.to_timedelta(day * 86400 + hour * 3600 + seconds, unit="s")

    pick_lat = rng.normal(center[0], spread, n)
    pick_lon = rng.normal(center[1], spread, n)
    crow_km = rng.gamma(2.0, 1.6, n) + 0.2
    heading = rng.uniform(0, 2 * np.pi, n)
    drop_lat = pick_lat + crow_km * np.cos(heading) / 111.0
    drop_lon = pick_lon + crow_km * np.sin(heading) / 84.0        # km per degree at 40.7°N
    miles = crow_km * 1.35 / 1.609 * rng.lognormal(0, 0.08, n)     # streets are not straight

    weekday = pickup.day_of_week.to_numpy()
    rush = (weekday < 5) & (((hour >= 7) & (hour < 10)) | ((hour >= 16) & (hour < 20)))
    night = (hour >= 20) | (hour < 6)
    mph = np.where(rush, 7.5, np.where(night, 17.0, 11.0)) * rng.lognormal(0, 0.15, n)
    minutes = miles / mph * 60 + rng.uniform(0.5, 3.0, n)
    dropoff = pickup + pd.to_timedelta(np.round(minutes * 60), unit="s")

    fare = 2.5 + 2.5 * miles + 0.3 * minutes + np.where(night, 0.5, 0.0) + np.where(rush, 1.0, 0.0)
    fare = np.round((fare + rng.normal(0, 0.4, n)) * 2) / 2                       # half dollars

    table = pd.DataFrame({
        "vendor": rng.choice([1, 2], n, p=[0.45, 0.55]),
        "pickup_datetime": pickup.strftime("%Y-%m-%d %H:%M:%S"),
        "dropoff_datetime": dropoff.strftime("%Y-%m-%d %H:%M:%S"),
        "pickup_longitude": pick_lon,
        "pickup_latitude": pick_lat,
        "dropoff_longitude": drop_lon,
        "dropoff_latitude": drop_lat,
        "passengers": rng.choice(np.arange(1, 7), n, p=[0.7, 0.14, 0.05, 0.03, 0.05, 0.03]),
        "distance": np.round(miles, 2),
        "payment_type": rng.choice([1, 2], n, p=[0.6, 0.4]),
        "fare_amount": fare,
    })

    # The defects of real trip records: missing GPS fixes and broken fares.
    no_gps = rng.random(n) < 0.03
    table.loc[no_gps, ["pickup_longitude", "pickup_latitude"]] = 0.0
    broken = rng.random(n) < 0.03
    table.loc[broken, "fare_amount"] = rng.choice([0.0, -2.5, -52.0, 999.99], broken.sum())
    return table


def main():
    p = load_params("generate")
    rng = np.random.default_rng(p["seed"])
    green = trips(rng, p["green_rows"], p["start"], p["days"], center=(40.76, -73.92), spread=0.05)
    yellow = trips(rng, p["yellow_rows"], p["start"], p["days"], center=(40.75, -73.98), spread=0.025)
    write_csv(green.rename(columns=GREEN_COLUMNS).round(6), "data/raw/green.csv", float_format=None)
    write_csv(yellow.rename(columns=YELLOW_COLUMNS).round(6), "data/raw/yellow.csv", float_format=None)
    print(f"wrote data/raw/green.csv ({len(green)} trips) and data/raw/yellow.csv ({len(yellow)} trips)")


if __name__ == "__main__":
    main()
