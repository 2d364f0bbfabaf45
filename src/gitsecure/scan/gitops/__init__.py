"""GitOps analysis: structural checks that regexes cannot do, on whole YAML and JSON files.

The engine calls :func:`applies_to` for every file (cheap: path and a few byte
markers) and :func:`analyze` for those it accepts. ``analyze`` parses the file
into a line-aware tree and reports what only the document's structure reveals:

* a Kubernetes ``Secret`` with plaintext ``data`` (base64 decoded; the decoded
  value goes back through the engine's provider rules so a GitHub token inside
  is reported as one) or ``stringData``;
* registry credentials in ``.dockerconfigjson``/``.dockercfg`` Secrets and
  Docker config files; kubeconfig client keys, tokens and passwords; literal
  credentials in Helm values files; secrets in Terraform state.

It also tells the engine which lines to keep quiet: SealedSecret, SOPS,
ExternalSecret-family and SopsSecret content is ciphertext or a reference, and a
value already reported structurally must not be reported twice. Input is never
trusted: oversized, binary, deeply nested or unparsable files simply get no
structural analysis (a log record at INFO level says why); aliases are not
expanded.

The reported ``secret`` of a decoded value is its UTF-8 text with surrounding
whitespace removed; bytes that are not UTF-8 are kept as ``\\xNN`` escapes, so
the hash is stable and a partly redacted prefix still means something.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitsecure.scan.finding import Finding
from gitsecure.scan.gitops.rules import GITOPS_RULES

if TYPE_CHECKING:
    from gitsecure.scan.gitops.emit import Emitter
    from gitsecure.scan.gitops.tree import Node

__all__ = ["GITOPS_RULES", "MAX_STRUCTURAL_BYTES", "GitopsResult", "analyze", "applies_to"]

log = logging.getLogger("gitsecure.scan.gitops")

MAX_STRUCTURAL_BYTES = 4 * 1024 * 1024
"""Files above this size get no structural analysis (composing YAML runs at a few MB/s)."""

# A document is worth composing only if it can hold something a check reads.
_MARKERS = (
    b"Secret", b"external-secrets.io", b"ENC[", b"sops", b"kind: Config", b'"Config"', b"client-key-data",
    b"auth-provider", b"auths", b"terraform_version",
)  # fmt: skip
_STRUCTURED_EXTENSIONS = (".yaml", ".yml", ".json")
_SOPS_VALUE = re.compile(rb"ENC\[[A-Za-z0-9_]+,")
_TEMPLATE_DIR = re.compile(r"(?:^|/)templates/")
# values.yaml, values-prod.yml, prod.values.yaml, values/anything.yaml: Helm values by convention.
_VALUES_FILE = re.compile(r"(?:^|/)(?:[^/]*[-_.])?values(?:[-_.][^/]*)?\.ya?ml$|(?:^|/)values/[^/]+\.ya?ml$")


@dataclass(frozen=True, slots=True)
class GitopsResult:
    """What :func:`analyze` found in one file."""

    findings: list[Finding]
    """Structural findings, sorted by (line, column); lines are relative to the analysed bytes (1-based)."""
    quiet_lines: frozenset[int]
    """1-based lines where the engine must drop its regex findings."""


def _kind_of_path(path: str) -> str:
    lowered = path.lower()
    name = posixpath.basename(lowered)
    if name.endswith((".tfstate", ".tfstate.backup")):
        return "terraform"
    if lowered.endswith((".docker/config.json", ".dockerconfigjson", ".dockercfg")):
        return "docker"
    if lowered.endswith(".kube/config") or name.endswith(".kubeconfig") or name.startswith("kubeconfig"):
        return "kubeconfig"
    if _VALUES_FILE.search(lowered):
        return "helm"
    return ""


def applies_to(path: str, data: bytes) -> bool:
    """Whether :func:`analyze` can find anything in this file: a known path, or YAML/JSON with a marker."""
    if not data:
        return False
    if _kind_of_path(path):
        return True
    if path != "-" and not path.lower().endswith(_STRUCTURED_EXTENSIONS):
        return False
    return any(marker in data for marker in _MARKERS)


def analyze(data: bytes, path: str, *, rescan: Callable[[bytes], list[Finding]]) -> GitopsResult:
    """Run the structural checks on one file (``rescan`` runs the engine's provider rules on a value)."""
    from gitsecure.scan.gitops.emit import Emitter  # noqa: PLC0415
    from gitsecure.scan.gitops.tree import too_deep  # noqa: PLC0415

    emit = Emitter(path, rescan)
    if b"ENC[" in data:
        emit.hush(_lines_matching(data, _SOPS_VALUE))
    path_kind = _kind_of_path(path)
    if len(data) > MAX_STRUCTURAL_BYTES:
        log.info("%s: %d bytes, over %d: GitOps structural checks skipped", path, len(data), MAX_STRUCTURAL_BYTES)
    elif _TEMPLATE_DIR.search(path) and b"{{" in data:
        # A Helm template is not YAML until rendered; its values come from elsewhere.
        emit.hush(_lines_matching(data, re.compile(rb"\{\{")))
    elif b"\0" in data:
        log.info("%s: binary data: GitOps structural checks skipped", path)
    elif too_deep(data):
        log.info("%s: nested too deeply: GitOps structural checks skipped", path)
    else:
        for root in _parse(data, path_kind):
            _analyze_root(root, path_kind, emit)
    findings = sorted(emit.findings, key=lambda finding: (finding.line, finding.column))
    return GitopsResult(findings=findings, quiet_lines=frozenset(emit.quiet))


def _lines_matching(data: bytes, pattern: re.Pattern[bytes]) -> set[int]:
    lines: set[int] = set()
    line, counted = 1, 0
    for match in pattern.finditer(data):
        line += data.count(b"\n", counted, match.start())
        counted = match.start()
        lines.add(line)
    return lines


def _parse(data: bytes, path_kind: str) -> list[Node]:
    from gitsecure.scan.gitops.tree import compose_yaml, split_documents  # noqa: PLC0415

    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        from gitsecure.scan.gitops.jsontree import parse_json  # noqa: PLC0415 (json loads for JSON files only)

        root = parse_json(data)
        if root is not None:
            return [root]
    roots: list[Node] = []
    for first_line, chunk in split_documents(data):
        if path_kind or any(marker in chunk for marker in _MARKERS):
            roots.extend(compose_yaml(chunk, first_line))
    return roots


def _analyze_root(root: Node, path_kind: str, emit: Emitter) -> None:
    from gitsecure.scan.gitops import docker, helm, kubeconfig, kubernetes, terraform  # noqa: PLC0415
    from gitsecure.scan.gitops.tree import Mapping  # noqa: PLC0415

    if not isinstance(root, Mapping):
        return
    sops = root.entry("sops")
    if sops is not None and isinstance(sops[1], Mapping) and (sops[1].get("mac") or sops[1].get("lastmodified")):
        emit.hush_node(sops[1], sops[0])
    for obj in kubernetes.objects(root):
        kubernetes.analyze_object(obj, emit)
    if kubeconfig.is_kubeconfig(root):
        kubeconfig.analyze(root, emit)
    elif docker.is_docker_config(root) or (path_kind == "docker" and not root.text("kind")):
        docker.analyze_config_file(root, emit)
    elif terraform.is_state(root):
        terraform.analyze(root, emit)
    elif path_kind == "helm" and not (root.text("kind") and root.text("apiVersion")):
        helm.analyze(root, emit)
