"""Piece 2, terminal side: kubeseal-compatible sealing."""
