"""Write a small, deterministic corpus of clothing reviews: data/raw/{train,valid}.csv.

Each row is (review_text, rating 1-5). A review mixes words about the garment with sentiment
words whose balance follows the rating, so the task is learnable but not trivial.
"""
import csv
import os
import random

import yaml

GARMENT = (
    "dress top sweater jeans skirt blouse jacket fabric color fit size length material sleeves "
    "waist ordered wore petite store online summer work pattern neckline lining shoulders"
).split()
POSITIVE = (
    "love perfect beautiful flattering comfortable soft gorgeous great cute elegant happy "
    "recommend compliments stunning lovely"
).split()
NEGATIVE = (
    "disappointed cheap itchy returned unflattering boxy tight awkward poor thin ripped "
    "wrong scratchy sheer shapeless"
).split()
RATING_WEIGHTS = [0.06, 0.08, 0.13, 0.23, 0.50]  # ratings 1..5, skewed positive as shop reviews are


def review(rng, rating, p):
    lean = (rating - 3) / 2  # -1 for 1 star .. +1 for 5 stars
    words = []
    for _ in range(rng.randint(p["min_words"], p["max_words"])):
        if rng.random() < p["sentiment_rate"]:
            pool = POSITIVE if rng.random() < (1 + 0.9 * lean) / 2 else NEGATIVE
        else:
            pool = GARMENT
        words.append(rng.choice(pool))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def write_table(path, n, rng, p):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["review_text", "rating"])
        for _ in range(n):
            rating = rng.choices(range(1, 6), weights=RATING_WEIGHTS)[0]
            text = "" if rng.random() < p["blank_rate"] else review(rng, rating, p)
            writer.writerow([text, rating])


def main():
    with open("params.yaml") as f:
        p = yaml.safe_load(f)["generate"]
    rng = random.Random(p["seed"])
    os.makedirs("data/raw", exist_ok=True)
    for name in ("train", "valid"):
        write_table(f"data/raw/{name}.csv", p[f"n_{name}"], rng, p)
    print(f"wrote data/raw/train.csv ({p['n_train']} reviews) and data/raw/valid.csv ({p['n_valid']})")


if __name__ == "__main__":
    main()
