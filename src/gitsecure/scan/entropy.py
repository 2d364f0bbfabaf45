"""Shannon entropy of a candidate secret, the threshold most rules use against dictionary words."""

from __future__ import annotations

import math
from collections import Counter


def shannon_entropy(data: bytes) -> float:
    """Bits per byte of ``data`` (0.0 for empty input).

    Computed over bytes, not characters: rules are byte patterns and a secret
    outside ASCII is rare. gitleaks counts runes but divides by the byte
    length, so for ASCII secrets (all the token formats) both agree exactly.
    """
    size = len(data)
    if size == 0:
        return 0.0
    entropy = 0.0
    for count in Counter(data).values():
        p = count / size
        entropy -= p * math.log2(p)
    return entropy
