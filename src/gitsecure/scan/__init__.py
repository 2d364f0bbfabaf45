"""Piece 1: the secret scanner (engine, rules, sources, baselines, reports, hooks).

Nothing here imports kubernetes, boto3, hvac, sigstore or kopf: the pre-commit
hook runs on this package at every commit and must start fast.
"""
