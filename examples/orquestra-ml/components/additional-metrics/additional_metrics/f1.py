"""The F1-score of binary predictions."""
from sklearn.metrics import f1_score


def calculate_f1_score(labels, predictions, positive_label=1):
    """Harmonic mean of precision and recall for the positive class."""
    return float(f1_score(labels, predictions, pos_label=positive_label))
