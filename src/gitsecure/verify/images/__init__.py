"""The image signature gate: find the images a revision deploys, resolve them in their registries, check their
cosign/Sigstore signatures (legacy ``.sig`` tags, bundles stored as OCI 1.1 referrers, attestations) against the
``images:`` rules of the policy file.
"""
