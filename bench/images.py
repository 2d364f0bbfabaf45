"""Image gate latency: 200 signed images in a loopback docker-registry, verified cold and warm.

Targets (issue 7): warm at most 5 ms per image, cold at most 50 ms per image.

- **cold**: no cache; each tag is resolved (HEAD), the ``.sig`` manifest, its payload blob and the referrers
  fallback tag are fetched, the ECDSA signature verified. This is one ``ImageGate.verify`` per image.
- **warm (tag)**: the same references with the result cache filled (keyed by digest and policy hash): the tag
  is still resolved (a tag can move), nothing else is fetched.
- **warm (digest)**: digest-pinned references with the cache filled: no registry request at all.
- **CLI**: one ``gitsecure verify manifests`` process over a directory of 200 Deployments, cold and warm,
  for the end-to-end figure including interpreter start-up and policy loading.

No peer tool runs here: cosign is not installable on this machine (no Debian, PyPI or npm package, and building
it needs the Go module proxy), so there is no side-by-side ratio; the figures are absolute.

Run: ``python bench/images.py [--images 200]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the test harness (tests.support) is not installed

from tests.support.oci import push_image  # noqa: E402
from tests.support.registry import start_registry  # noqa: E402

from gitsecure.crypto.cosign_keys import decrypt_private_key, generate_key_pair  # noqa: E402
from gitsecure.verify.cache import VerifyCache  # noqa: E402
from gitsecure.verify.images.gate import ImageGate  # noqa: E402
from gitsecure.verify.images.quick_policy import image_policy_from_flags  # noqa: E402
from gitsecure.verify.images.reference import parse_image_ref  # noqa: E402
from gitsecure.verify.images.registry import RegistryClient  # noqa: E402
from gitsecure.verify.images.sign import sign_image  # noqa: E402

PASSWORD = b"bench"


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return f"median {statistics.median(ordered) * 1000:6.2f} ms   p90 {p90 * 1000:6.2f} ms"


def _timed(gate: ImageGate, images: list[str]) -> list[float]:
    samples = []
    for image in images:
        start = time.perf_counter()
        verdict = gate.verify(image)
        samples.append(time.perf_counter() - start)
        if not verdict.accepted:
            raise SystemExit(f"bench error: {image} was rejected: {verdict.reasons}")
    return samples


def _cli(directory: Path, work: Path, pub: Path, *, fresh: bool) -> float:
    env = {**os.environ, "XDG_CACHE_HOME": str(work / "cli-cache")}
    argv = [sys.executable, "-m", "gitsecure", "verify", "manifests", str(directory), "--key", str(pub)]
    argv += ["--allow-http-registry", *(["--no-cache"] if fresh else [])]
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench error: verify manifests exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitsecure-bench-images-") as tmp:
        work = Path(tmp)
        private, public = generate_key_pair(PASSWORD)
        (work / "cosign.pub").write_bytes(public)
        signer = decrypt_private_key(private, PASSWORD)
        with start_registry(work / "registry") as registry:
            client = RegistryClient(allow_http=True)
            tags, pinned = [], []
            started = time.perf_counter()
            for i in range(args.images):
                pushed = push_image(client, f"{registry.host}/bench/app{i:03d}:v1")
                sign_image(client, parse_image_ref(pushed.pinned), signer)
                tags.append(f"{registry.host}/bench/app{i:03d}:v1")
                pinned.append(pushed.pinned)
            print(f"setup: {args.images} images pushed and signed in {time.perf_counter() - started:.1f} s")
            policy = image_policy_from_flags(
                keys=[work / "cosign.pub"], identity=None, identity_regexp=None, issuer=None, issuer_regexp=None,
                trusted_root=None, threshold=None,
            )  # fmt: skip
            cold = _timed(ImageGate(policy, RegistryClient(allow_http=True)), tags)
            cache = VerifyCache(work / "cache")
            _timed(ImageGate(policy, RegistryClient(allow_http=True), cache=cache), tags)  # fills the cache
            warm_gate = ImageGate(policy, RegistryClient(allow_http=True), cache=cache)
            warm_tag = _timed(warm_gate, tags)
            warm_digest = _timed(warm_gate, pinned)
            manifests = work / "manifests"
            manifests.mkdir()
            for i, image in enumerate(tags):
                (manifests / f"app{i:03d}.yaml").write_text(
                    f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i:03d}\nspec:\n  template:\n"
                    f"    spec:\n      containers:\n        - name: app\n          image: {image}\n"
                )
            cli_cold = _cli(manifests, work, work / "cosign.pub", fresh=True)
            _cli(manifests, work, work / "cosign.pub", fresh=False)
            cli_warm = _cli(manifests, work, work / "cosign.pub", fresh=False)
    n = args.images
    print(f"\nimage gate, {n} images, key-based legacy signatures, loopback docker-registry")
    print(f"  cold  (no cache)                 {_ms(cold)}   target <= 50 ms")
    print(f"  warm  (cache, tag resolved)      {_ms(warm_tag)}   target <= 5 ms")
    print(f"  warm  (cache, digest-pinned)     {_ms(warm_digest)}")
    print(f"  CLI verify manifests, cold       {cli_cold:6.2f} s total, {cli_cold / n * 1000:6.2f} ms per image")
    print(f"  CLI verify manifests, warm       {cli_warm:6.2f} s total, {cli_warm / n * 1000:6.2f} ms per image")
    verdict_cold = statistics.median(cold) <= 0.050
    verdict_warm = statistics.median(warm_tag) <= 0.005
    print(
        f"  targets: cold {'met' if verdict_cold else 'MISSED'}, warm {'met' if verdict_warm else 'MISSED'} (medians)"
    )
    print("  peer: none (cosign cannot be installed here); no ratio is printed")


if __name__ == "__main__":
    main()
