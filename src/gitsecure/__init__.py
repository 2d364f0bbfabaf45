"""gitsecure: secrets and supply-chain security for GitOps repositories."""

__version__ = "0.1.0"
