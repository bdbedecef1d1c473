"""als: explicit-feedback matrix factorisation by alternating least squares, in numpy.

Each sweep solves every user's factors with the movie factors fixed, then every movie's with the
user factors fixed; regularisation is reg_param times the number of ratings (as Spark's ALS does).
Writes models/als.npz (factors and the mean rating) and metrics/als.json (RMSE on train and test).
"""
import numpy as np

from common import load_params, rmse, save_json, save_npz


def solve(fixed, index_own, index_other, residual, n_own, rank, reg):
    """Least-squares factors for each of n_own rows given the other side's fixed factors."""
    factors = np.zeros((n_own, rank))
    order = np.argsort(index_own, kind="stable")
    bounds = np.searchsorted(index_own[order], np.arange(n_own + 1))
    for i in range(n_own):
        rows = order[bounds[i]:bounds[i + 1]]
        if len(rows) == 0:
            continue
        V = fixed[index_other[rows]]
        A = V.T @ V + reg * len(rows) * np.eye(rank)
        factors[i] = np.linalg.solve(A, V.T @ residual[rows])
    return factors


def main():
    p = load_params("als")
    data = np.load("data/ratings.npz")
    train = ~data["is_test"]
    user, movie, rating = data["user"][train], data["movie"][train], data["rating"][train]
    n_users, n_movies = len(data["user_ids"]), len(data["movie_ids"])
    mean = float(rating.mean())
    residual = rating - mean
    rng = np.random.default_rng(p["seed"])
    movie_factors = rng.normal(0, 0.1, (n_movies, p["rank"]))
    for _ in range(p["max_iter"]):
        user_factors = solve(movie_factors, user, movie, residual, n_users, p["rank"], p["reg_param"])
        movie_factors = solve(user_factors, movie, user, residual, n_movies, p["rank"], p["reg_param"])

    def predict(u, m):
        return np.clip(mean + np.sum(user_factors[u] * movie_factors[m], axis=1), 0.5, 5.0)

    test = data["is_test"]
    metrics = {
        "train_rmse": rmse(rating, predict(user, movie)),
        "test_rmse": rmse(data["rating"][test], predict(data["user"][test], data["movie"][test])),
        "mean_rating_test_rmse": rmse(data["rating"][test], np.full(int(test.sum()), mean)),
    }
    save_npz("models/als.npz", user_factors=user_factors, movie_factors=movie_factors, mean=np.array(mean))
    save_json(metrics, "metrics/als.json")
    print(f"ALS rank {p['rank']}: test RMSE {metrics['test_rmse']:.4f} "
          f"(predicting the mean rating: {metrics['mean_rating_test_rmse']:.4f})")


if __name__ == "__main__":
    main()
