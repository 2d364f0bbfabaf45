"""What the emulator knows about a resource and a request path, beyond kmock's discovery data."""

from __future__ import annotations

from dataclasses import dataclass

import kmock

from tests.support.kube.apistatus import endpoint_not_found

# API groups served by kube-apiserver itself; anything else is a custom resource (CRD-backed).
BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
    }
)
# Built-in groups whose kinds have a spec and so a metadata.generation (Secrets, Leases, Events have none).
_GENERATION_GROUPS = frozenset({"apps", "batch", "apiextensions.k8s.io"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
NAMESPACES = kmock.resource("", "v1", "namespaces")


@dataclass(frozen=True)
class Kind:
    """A declared resource: its kind, scope, verbs and whether it has a status subresource."""

    resource: kmock.resource
    kind: str
    namespaced: bool
    verbs: frozenset[str]
    status: bool

    @classmethod
    def of(cls, resources: kmock.ResourcesArray, resource: kmock.resource) -> Kind:
        """The declared resource, or a 404 for one the server does not serve."""
        if resource not in resources:
            raise endpoint_not_found()
        info = resources[resource]
        plural = str(resource.plural)
        return cls(
            resource=resource,
            kind=info.kind or plural[:1].upper() + plural[1:].removesuffix("s"),
            namespaced=info.namespaced is not False,
            verbs=frozenset(info.verbs),
            status="status" in info.subresources,
        )

    @property
    def group(self) -> str:
        """The API group ("" for core)."""
        return str(self.resource.group or "")

    @property
    def plural(self) -> str:
        """The resource's plural name."""
        return str(self.resource.plural)

    @property
    def api_version(self) -> str:
        """``v1`` or ``group/version``."""
        return f"{self.group}/{self.resource.version}" if self.group else str(self.resource.version)

    @property
    def custom(self) -> bool:
        """A CRD-backed resource: merge-patch only, resourceVersion required on PUT, kind kept in list items."""
        return self.group not in BUILTIN_GROUPS

    @property
    def tracks_generation(self) -> bool:
        """Whether ``metadata.generation`` is set and bumped on spec changes."""
        return self.custom or self.group in _GENERATION_GROUPS


@dataclass(frozen=True)
class Target:
    """A resource request path, parsed the way kube-apiserver's RequestInfoFactory does."""

    resource: kmock.resource
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_target(path: str) -> Target | None:
    """``/api/v1/...`` or ``/apis/G/V/...`` naming a resource; None for discovery and other paths."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    if len(rest) >= 2 and rest[0] == "namespaces":
        # /namespaces/NAME and /namespaces/NAME/status name the Namespace object itself.
        if len(rest) == 2 or (len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES):
            resource = kmock.resource(group, version, "namespaces")
            return Target(resource, None, rest[1], rest[2] if len(rest) == 3 else None)
        namespace, rest = rest[1], rest[2:]
    if not rest or not rest[0]:
        return None
    name = (rest[1] or None) if len(rest) >= 2 else None
    subresource = "/".join(rest[2:]) if len(rest) >= 3 else None
    return Target(kmock.resource(group, version, rest[0]), namespace, name, subresource)
