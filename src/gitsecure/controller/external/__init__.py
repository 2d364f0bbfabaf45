"""ExternalSecrets: the External Secrets Operator's model (``external-secrets.io/v1``) in the same controller.

``model`` parses ExternalSecrets and stores from plain API dicts, ``values`` and ``templating`` turn provider
data into Secret data, ``providers`` read Vault/OpenBao and AWS, and ``reconcile`` writes the target Secrets.
"""
