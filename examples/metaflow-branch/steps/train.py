"""train: a bag-of-words classifier, CountVectorizer followed by the model named by train.model.

Writes models/model.pkl (the fitted sklearn Pipeline) and results/model.json (its accuracy and
ROC AUC on the valid table).
"""
import os
import pickle

import numpy as np
from common import handshake, load_params, read_table, save_json, scores
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline


def vocabulary(texts, p):
    """The max_features most frequent terms of texts (words, and word runs up to ngram_max long),
    ties broken alphabetically. CountVectorizer(max_features=...) would pick them itself, but it
    breaks ties with numpy's unstable argsort, whose order depends on the processor's SIMD sort:
    on another CPU it kept other terms, and the model and its scores changed."""
    counts = CountVectorizer(ngram_range=(1, p["ngram_max"]))
    totals = np.asarray(counts.fit_transform(texts).sum(axis=0)).ravel()
    ranked = sorted(zip((-int(n) for n in totals), counts.get_feature_names_out(), strict=True))
    return sorted(str(term) for _, term in ranked[:p["max_features"]])


def build(p, texts):
    if p["model"] == "logistic_regression":
        classifier = LogisticRegression(**p["logistic_regression"])
    elif p["model"] == "naive_bayes":
        classifier = MultinomialNB(**p["naive_bayes"])
    else:
        raise SystemExit(f"unknown train.model {p['model']!r}: logistic_regression or naive_bayes")
    vectorizer = CountVectorizer(vocabulary=vocabulary(texts, p), ngram_range=(1, p["ngram_max"]))
    return make_pipeline(vectorizer, classifier)


def main():
    p = load_params("train")
    handshake("train")
    texts, labels = read_table("data/train.csv")
    valid_texts, valid_labels = read_table("data/valid.csv")
    model = build(p, texts).fit(texts, labels)
    result = {"model": p["model"], **scores(valid_labels, model.predict(valid_texts),
                                             model.predict_proba(valid_texts)[:, 1])}
    # CountVectorizer keeps id(stop_words), a memory address that differs in every process, as
    # a cache key; without it the pickle is the same bytes on every run (sklearn redoes the check).
    vars(model[0]).pop("_stop_words_id", None)
    os.makedirs("models", exist_ok=True)
    with open("models/model.pkl", "wb") as f:
        pickle.dump(model, f, protocol=5)
    save_json(result, "results/model.json")
    print(f"{p['model']}: accuracy {result['accuracy']:.4f}, ROC AUC {result['roc_auc']:.4f}")


if __name__ == "__main__":
    main()
