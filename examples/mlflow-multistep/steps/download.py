"""download (the original's load_raw_data): write data/raw/ratings.csv and data/raw/movies.csv.

The files have MovieLens' columns (userId,movieId,rating,timestamp and movieId,title,genres);
ratings come from hidden user and movie factors plus noise, in half stars from 0.5 to 5. Like a
real export they carry a little dirt for etl to clean: repeated ratings and unusable rows.
"""
import csv
import os

import numpy as np

from common import load_params

GENRES = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "Animation", "Documentary"]


def main():
    p = load_params("download")
    rng = np.random.default_rng(p["seed"])
    users = rng.normal(0, 1, (p["n_users"], p["true_rank"]))
    movies = rng.normal(0, 1, (p["n_movies"], p["true_rank"]))
    user_bias = rng.normal(0, 0.4, p["n_users"])
    movie_bias = rng.normal(0, 0.4, p["n_movies"])
    u = rng.integers(0, p["n_users"], p["n_ratings"])
    m = rng.integers(0, p["n_movies"], p["n_ratings"])
    score = 3.5 + user_bias[u] + movie_bias[m] + 0.5 * np.sum(users[u] * movies[m], axis=1)
    score += rng.normal(0, 0.3, p["n_ratings"])
    ratings = np.clip(np.round(score * 2) / 2, 0.5, 5.0)
    timestamps = 1_100_000_000 + np.sort(rng.integers(0, 400_000_000, p["n_ratings"]))
    dirt = rng.random(p["n_ratings"])  # ~1% of rows lose their rating, ~1% get an impossible one

    os.makedirs("data/raw", exist_ok=True)
    with open("data/raw/ratings.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["userId", "movieId", "rating", "timestamp"])
        for i in range(p["n_ratings"]):
            rating = "" if dirt[i] < 0.01 else "7.5" if dirt[i] < 0.02 else f"{ratings[i]:.1f}"
            writer.writerow([u[i] + 1, m[i] + 1, rating, timestamps[i]])
    with open("data/raw/movies.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["movieId", "title", "genres"])
        for j in range(p["n_movies"]):
            genres = "|".join(sorted(rng.choice(GENRES, size=rng.integers(1, 3), replace=False)))
            writer.writerow([j + 1, f"Movie {j + 1} ({1960 + int(rng.integers(0, 60))})", genres])
    print(f"wrote data/raw/ratings.csv ({p['n_ratings']} rows) and data/raw/movies.csv ({p['n_movies']} rows)")


if __name__ == "__main__":
    main()
