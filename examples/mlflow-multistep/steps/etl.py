"""etl (the original's etl_data): clean the raw ratings and save them in a training-friendly form.

Drops rows without a valid rating (0.5..5) and keeps only the latest rating of each (user, movie);
keeps at most etl.max_row_limit rows; maps ids to 0-based indexes; splits train/test.
Writes data/ratings.npz: user, movie, rating, is_test, and the original ids.
"""
import csv

import numpy as np

from common import load_params, save_npz


def main():
    p = load_params("etl")
    latest = {}
    dropped = 0
    with open("data/raw/ratings.csv", newline="") as f:
        for row in csv.DictReader(f):
            try:
                rating = float(row["rating"])
            except ValueError:
                rating = -1.0
            if not 0.5 <= rating <= 5.0:
                dropped += 1
                continue
            key = (int(row["userId"]), int(row["movieId"]))
            stamp = int(row["timestamp"])
            if key not in latest or stamp >= latest[key][1]:
                latest[key] = (rating, stamp)
    rows = sorted((stamp, user, movie, rating) for (user, movie), (rating, stamp) in latest.items())
    rows = rows[: p["max_row_limit"]]
    user_ids = np.array(sorted({r[1] for r in rows}))
    movie_ids = np.array(sorted({r[2] for r in rows}))
    user = np.searchsorted(user_ids, [r[1] for r in rows])
    movie = np.searchsorted(movie_ids, [r[2] for r in rows])
    rating = np.array([r[3] for r in rows])
    rng = np.random.default_rng(p["seed"])
    is_test = rng.random(len(rows)) >= p["split_prop"]
    save_npz("data/ratings.npz", user=user, movie=movie, rating=rating, is_test=is_test,
             user_ids=user_ids, movie_ids=movie_ids)
    print(f"data/ratings.npz: {len(rows)} ratings ({int(is_test.sum())} test) of {len(user_ids)} users "
          f"and {len(movie_ids)} movies; dropped {dropped} bad rows")


if __name__ == "__main__":
    main()
