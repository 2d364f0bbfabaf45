"""Piece 3: the signature gate: policy, Git commit and tag signatures, verdicts."""
