"""The in-cluster controller: unseals SealedSecrets, a drop-in for the sealed-secrets controller.

``config`` (flags and environment) is light enough for the CLI to import; the
rest (kopf, kubernetes, aiohttp) is imported only by ``gitsecure controller run``.
"""
