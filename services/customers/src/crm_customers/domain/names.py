"""Customer names compared as people compare them (duplicate detection)."""

import unicodedata


def normalize_name(name: str) -> str:
    """Fold width and case and drop spaces/punctuation, for duplicate detection."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())
