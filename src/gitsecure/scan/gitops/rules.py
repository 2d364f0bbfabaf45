"""The GitOps checks as :class:`Rule` records: ids, descriptions and hints for config and reports.

They are structural: the analyzers in this package find them by reading the
document, not by regex, so ``regex`` is empty and the ``structural`` tag tells
the engine to leave them out of its regex pass. Disabling one by id in
``.gitsecure.toml`` works as for any rule.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule

STRUCTURAL = "structural"

SEAL_HINT = (
    "Seal it instead: `gitsecure seal -o yaml -f {path} -w {sealed}` (add `--cert CERT.pem` to seal offline), "
    "commit the SealedSecret, delete the plaintext Secret, and rotate the value: it stays in the Git history."
)
HELM_HINT = (
    "Keep credentials out of Helm values: point the chart at an existing Secret (most charts take "
    "`existingSecret`) that a SealedSecret or ExternalSecret provides, and rotate this value."
)
KUBECONFIG_HINT = (
    "A kubeconfig credential grants access to the cluster: revoke it (new client certificate or token), keep "
    "kubeconfigs out of the repository, and prefer an `exec` credential plugin to embedded keys."
)
DOCKER_HINT = (
    "Revoke the registry credential and remove the file; use a credential helper (`credsStore`/`credHelpers`) "
    "locally and a sealed `kubernetes.io/dockerconfigjson` Secret in the cluster."
)
TERRAFORM_HINT = (
    "Terraform state holds every secret it manages in plaintext: take the state out of the repository, keep "
    "it in an encrypted, access-controlled remote backend, and rotate these values."
)


def _rule(rule_id: str, description: str, hint: str, *tags: str) -> Rule:
    return Rule(id=rule_id, description=description, regex="", hint=hint, tags=(STRUCTURAL, *tags))


KUBERNETES_SECRET_DATA = _rule(
    "kubernetes-secret-data", "Plaintext value in a Kubernetes Secret's data", SEAL_HINT, "kubernetes"
)
KUBERNETES_SECRET_STRINGDATA = _rule(
    "kubernetes-secret-stringdata", "Plaintext value in a Kubernetes Secret's stringData", SEAL_HINT, "kubernetes"
)
DOCKERCONFIG_AUTH = _rule(
    "dockerconfigjson-auth", "Container registry credential in a Docker config", DOCKER_HINT, "kubernetes", "docker"
)
KUBECONFIG_CLIENT_KEY = _rule(
    "kubeconfig-client-key", "Client private key embedded in a kubeconfig", KUBECONFIG_HINT, "kubernetes"
)
KUBECONFIG_TOKEN = _rule(
    "kubeconfig-token", "Token or password embedded in a kubeconfig", KUBECONFIG_HINT, "kubernetes"
)
HELM_VALUES_PASSWORD = _rule("helm-values-password", "Literal credential in Helm values", HELM_HINT, "helm")
TERRAFORM_STATE_SECRET = _rule(
    "terraform-state-secret", "Sensitive value in Terraform state", TERRAFORM_HINT, "terraform"
)

GITOPS_RULES: tuple[Rule, ...] = (
    KUBERNETES_SECRET_DATA,
    KUBERNETES_SECRET_STRINGDATA,
    DOCKERCONFIG_AUTH,
    KUBECONFIG_CLIENT_KEY,
    KUBECONFIG_TOKEN,
    HELM_VALUES_PASSWORD,
    TERRAFORM_STATE_SECRET,
)
"""One record per structural check, in the order the analyzers run."""


def seal_hint(path: str) -> str:
    """:data:`SEAL_HINT` with the file's own name, so the command can be pasted as it is."""
    stem, dot, ext = path.rpartition(".")
    sealed = f"{stem}.sealed.{ext}" if dot and ext.lower() in {"yaml", "yml", "json"} else f"{path}.sealed.yaml"
    return SEAL_HINT.format(path=path or "FILE", sealed=sealed)
