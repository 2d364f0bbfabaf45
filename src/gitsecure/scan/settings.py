"""Scan settings: what the engine needs besides rules (allowlists, thresholds, limits).

Kept apart from :mod:`gitsecure.scan.config` (which reads files) so the engine and
the sources can import it without a TOML parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from gitsecure.scan.rule import AllowTarget

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024

#: RE2 patterns over the slash-separated path; a file matching one is never scanned.
#: Lock files and checksums (hashes, not secrets), vendored and generated trees, minified
#: bundles and source maps, images, fonts, media and archives.
DEFAULT_ALLOW_PATHS: tuple[str, ...] = (
    r"(?:^|/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|poetry\.lock"
    r"|Pipfile\.lock|uv\.lock|pdm\.lock|Cargo\.lock|Gemfile\.lock|composer\.lock|go\.sum|go\.work\.sum"
    r"|gradle\.lockfile|packages\.lock\.json|mix\.lock|pubspec\.lock|flake\.lock|\.terraform\.lock\.hcl)$",
    r"(?:^|/)(?:node_modules|vendor|bower_components|\.git|\.venv|venv|__pycache__|\.tox|\.mypy_cache"
    r"|\.pytest_cache|\.ruff_cache|site-packages|dist-packages)/",
    r"(?i)\.(?:min\.js|min\.css|js\.map|css\.map|map)$",
    r"(?i)\.(?:png|jpe?g|gif|bmp|ico|icns|tiff?|webp|avif|heic|psd|svgz|eot|otf|ttf|woff2?|mp3|mp4|m4a|mov"
    r"|avi|mkv|webm|wav|flac|ogg|pdf|zip|gz|tgz|bz2|xz|zst|7z|rar|jar|war|whl|egg|so|dylib|dll|exe|o|a"
    r"|class|pyc|pyo|wasm)$",
)


@dataclass(frozen=True, slots=True)
class Allowlist:
    """A gitleaks-style allowlist: drops a candidate when its fields match (any of them, or all with ``and``).

    Empty ``target_rules`` means every rule. ``paths`` and ``regexes`` are RE2
    patterns searched in the path and in ``regex_target``; ``stopwords`` are
    substrings of the lower-cased secret; ``commits`` are exact commit ids.
    """

    description: str = ""
    regexes: tuple[str, ...] = ()
    regex_target: AllowTarget = "secret"
    paths: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()
    commits: tuple[str, ...] = ()
    condition: Literal["or", "and"] = "or"
    target_rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScanSettings:
    """Everything about a scan that is not a rule; the defaults are the documented behaviour."""

    allow_paths: tuple[str, ...] = ()
    """RE2 patterns over the slash-separated path, searched (not anchored), added to the defaults."""
    default_allow_paths: bool = True
    """Whether :data:`DEFAULT_ALLOW_PATHS` apply."""
    allow_values: tuple[str, ...] = ()
    """RE2 patterns searched in each secret: a match drops the finding, for every rule."""
    stopwords: tuple[str, ...] = ()
    """Substrings of the lower-cased secret that drop a finding, for every rule."""
    allowlists: tuple[Allowlist, ...] = ()
    """gitleaks-style allowlists (imported ones, optionally scoped to rules)."""
    entropy: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """Rule id -> entropy threshold replacing the rule's own."""
    disabled_rules: frozenset[str] = frozenset()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    """Bytes; the sources skip bigger files (the engine itself scans whatever it is given)."""
    decode_depth: int = 1
    """Nested base64 decode-and-rescan passes; 0 turns decoding off."""
    inline_suppression: bool = True
    """Honour ``gitsecure:allow`` and the other inline markers."""
    gitops: bool = True
    """Run the structural Kubernetes/GitOps analysis on whole YAML/JSON files."""
