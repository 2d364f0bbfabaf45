"""The crypto core: the only package that touches cryptographic primitives.

Everything here is a recipe with no mode, nonce or padding argument: callers
choose keys and labels, never algorithms.
"""
