"""Private keys and bearer tokens: PEM, OpenSSH, PGP, PuTTY, age, JWT/JWE, Kubernetes tokens.

The PEM rules span several lines: the engine widens its window around the
``BEGIN`` keyword for them, and every body is bounded ({64,} bytes, more
for PGP) so a BEGIN line without an END line costs little. The secret is the
key body, not the BEGIN line, so two different keys in a baseline are two
entries. An *encrypted* private key is still reported (an offline passphrase
guess is cheap when the passphrase is weak), by its own lower-severity rule.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule

# ``\r\n`` is redundant with ``\s`` but marks the pattern as multi-line for the engine's windowing.
_BODY = r"([A-Za-z0-9+/=\s\r\n]{64,}?)"
_KEY_HINT = "treat the key as compromised: replace it, revoke what trusts it, and remove it from history"


def _pem(rule_id: str, label: str, what: str, body_lines: str, counter: str) -> Rule:
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    return Rule(
        id=rule_id,
        description=what,
        regex=begin + _BODY + end,
        keywords=(f"begin {label.lower()}-----",),
        entropy=4.0,
        secret_type="Private Key",
        hint=_KEY_HINT,
        tags=("multiline",),
        examples=(
            f"{begin}\n{body_lines}\n{end}\n",
            f"  tls.key: |\n    {begin}\n    {body_lines.replace(chr(10), chr(10) + '    ')}\n    {end}",
        ),
        counterexamples=(
            f"{begin}\n...\n{end}",
            f"{begin}\n<paste your key here>\n{end}",
            counter,
        ),
    )


RULES: tuple[Rule, ...] = (
    _pem(
        "private-key-rsa",
        "RSA PRIVATE KEY",
        "RSA private key (PKCS#1 PEM)",
        "MIIEpAIBAAKCAQEAaqUSO5cW3yvpL6wYeYdcVcyKBu3QQgxxb+OjjHKNAf8DHZub\nRHVsjJVmzn/AJ9FP7GoZr5kZO6S+QrUkyEIagefvA11QzmQHnSsaR0i8stwrDyli\nQRn7ecqsRh49erbyZAGxsu72CoPeCMXp/G5cMiywXPOeQHlQ9oVc96y3enCpuf69\njZtXwQ8061nYZay+6jvG/1EmGqbxzE65SEL57yjyRYzSlLaeR82zUPXJzCFzW8Pt\ngSMkyRBuLfTrpoqo1btL==",
        "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEAtJ2Mbr87q5/FiudBA0JoMQpj/5WDov6IDkHrA0Y5tC/fZBEdp0WI\n-----END RSA PUBLIC KEY-----",
    ),
    _pem(
        "private-key-ec",
        "EC PRIVATE KEY",
        "Elliptic-curve private key (SEC1 PEM)",
        "MHcCAQEEInIJTtZN4qE2Hgjx6cEZaIgVy9hfsawpfB6k2JJgGoR6czXWnffT9WUM\nVtsHpSLUK2BjWHz5+rfzAqKctatXPKSZnoLKJli1LzNjYbWzOji93PIUcCZyUR4N\nmcsDEI3kuCo+bplHNMdpF8JjmpfyzV8NaIfpE76JCwIq/DTr==",
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----",
    ),
    _pem(
        "private-key-dsa",
        "DSA PRIVATE KEY",
        "DSA private key (PEM)",
        "MIIBuwIBAAKBgQDtGuHC4A4R2f7VxDJNQ5WHVoMDAjCp/t4x73r0Wg/vn70Tt1Yf\nAaOwl5VbQuXNdELv531PNn29cx4qfPFzMapq16kvSxyXwuqJE45C1di9V+0R0Xrv\nE4MU8U4m29Nyrsn0kFTAutiQSC9yUtqFJfd/2lTgwhKotd19bPXOp2hEv0LX+a3A\nKW81KdvXuV0vBU95S+MV0ru8HAM/7q",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAOaoIqzrH3cjN+aOXaA90sph05KjO3tTqY0q/pzdYpz/EAVciEmcIsT9xH0gP user@host",
    ),
    _pem(
        "private-key-pkcs8",
        "PRIVATE KEY",
        "Private key (PKCS#8 PEM)",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCPHfjYXiK+ehawrpptt8WjXgZ0FMkRuk6\nUYNnt/XAemBJlzBJtGv7sWeQuGfVWaXWZufKAbF8rqoDM43rkZNp1MFrc5LT7zMV\nVRop3ugqfQJOfyg2yrtQtIi0lN0JGEhm262FabZQKykwn0PU9mzaMeOs3sOv+u1M\njrHJi8FnjTlXBQs9/yk1PvsN0rl4BLI/52Y7vU5P",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AmWcDKeBsfChb/Nr6IkK0qfGtA3yupqDb\n-----END PUBLIC KEY-----",
    ),
    _pem(
        "openssh-private-key",
        "OPENSSH PRIVATE KEY",
        "OpenSSH private key",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nj7FE34Q9xU45s0brR1Q8JoMz9H9Y56ErYe1/Smyo+oXhHSv43uq5JX7O/2odD8WDm713c7\nHB8Ql4gL8uO+2taBqU3zP9YWVcYNuyIH56zfP6VV5QGhKKfI/ws8Z2d6VIR5st+eRSw/AY\n3Lw2NSP8tYag5NABeU1/0EgXWHObDV7lShSd9sDW",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB6FQn3ZdpWgeyp+f3Mgf5EX//ouZfS47KUf6TpTimpc deploy@ci",
    ),
    Rule(
        id="private-key-encrypted",
        description="Encrypted private key (PEM; passphrase-protected, lower severity but still a finding)",
        regex=(
            r"-----BEGIN ENCRYPTED PRIVATE KEY-----" + _BODY + r"-----END ENCRYPTED PRIVATE KEY-----"
            r"|-----BEGIN (?:RSA|EC|DSA) PRIVATE KEY-----\s{0,4}Proc-Type: 4,ENCRYPTED\s{0,4}DEK-Info: [A-Z0-9\-]{3,20},[A-Fa-f0-9]{16,32}\s{0,4}"
            + _BODY
            + r"-----END (?:RSA|EC|DSA) PRIVATE KEY-----"
        ),
        keywords=("begin encrypted private key-----", "proc-type: 4,encrypted"),
        entropy=4.0,
        secret_type="Private Key",
        hint="the passphrase protects it only as well as the passphrase is strong: replace the key anyway",
        tags=("multiline", "severity:low"),
        examples=(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqCcwaKZWPX9Jl/NBGs93ro2yxvmRVkT3W\nCNUJiNGY1pbNQENuewPg8ZDe+ygDQTDaEBZJFTJNc7A3cL9l9BolyPP0LW1WSsG7\njGKYnbZJfuGfig257SaJAk5f6u7gFTU5ts4vqqwp3iqq+zxiIAKW4Zy5BznV4ow8\n-----END ENCRYPTED PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,A1604C23D10A4F77D30708902587062E\n\n0NHIhVum/3FvjvquEAqVWBCqiHkujqVQho4mFKB0rnHB/SWGM6wragFKFOy9ke8v\nCgUs6sCPTX4TDbByl7BX4dpfNyN0ZIVbNsi83Fo9ZqTd7v3lIu166hq6IQyvJ6Do\nNzpUrD9lrxQvzgK1OrXovsxCXRHIj3\n-----END RSA PRIVATE KEY-----",
        ),
        counterexamples=(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n...\n-----END ENCRYPTED PRIVATE KEY-----",
            "openssl pkcs8 -topk8 -in key.pem -out enc.pem  # writes BEGIN ENCRYPTED PRIVATE KEY",
        ),
    ),
    Rule(
        id="private-key-escaped",
        description="Private key with escaped newlines (inside a JSON or YAML string, an env var)",
        regex=(
            r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----(?:\\r)?\\n"
            r"((?:[A-Za-z0-9+/=]|\\r|\\n){64,}?)-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"
        ),
        keywords=("private key-----\\n", "private key-----\\r\\n"),
        secret_group=2,
        entropy=4.0,
        secret_type="Private Key",
        hint=_KEY_HINT + "; for a service-account JSON, delete the key in the cloud console",
        examples=(
            '  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBOQW1iaSYPreY5lNm6EvnqZwh8fFZlPs\\nX8onehvHyTyq91Th3hNIgHSX9VdvsIsf1OEDw86Ln59ybeWd8fXX50SX93CjDuVt\\nxnRrZ7SxtNmNvM8LPZLXnWSUa54DF298b/JUADYFaBl98HdK3HMW/YKNH0Q1f+7Y\\n-----END PRIVATE KEY-----\\n",',
            'SSH_KEY="-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABIYFuzP1Z3aH0oK2w0G191CTrwsqq6/cTSDmzWqKm3mzKr\\nuWOfE8GmeHRRLfvBU8sBJzNIbdHX4ixTh9FkMrs4IBw2WpLpy7UZ6JB+PppzTvCMBCarFj\\n-----END OPENSSH PRIVATE KEY-----"',
        ),
        counterexamples=(
            '"private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n"',
            '"public_key": "-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8Ajyf4aurFeDRE2pBAwMfqBeSkaQ1pd7xShL8N2X4g\\n-----END PUBLIC KEY-----"',
        ),
    ),
    Rule(
        id="pgp-private-key-block",
        description="PGP / GnuPG private key block",
        regex=r"-----BEGIN PGP PRIVATE KEY BLOCK-----([\s\S]{64,}?)-----END PGP PRIVATE KEY BLOCK-----",
        keywords=("begin pgp private key block",),
        entropy=4.0,
        secret_type="Private Key",
        hint="revoke the key (publish a revocation certificate), generate a new one, remove it from history",
        tags=("multiline",),
        examples=(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXgZmMth+YnmSmJ1omSk8ZpQ4hrrLbD+T0m/VbYh3+QMep0szEssRGhq59h\nNA3XFJGo79Vr159nZ93aFCCcMXmdp1l2IrJth6rkchFmiP0LtKyWgQsOmshW2Qeu\nch4Gk+VpW0dXDflw2Zb+vOagO9KX2Mc1Ae/thWYU1np0jHdy352NtjdKgrawa4Yy\n=X+1z\n-----END PGP PRIVATE KEY BLOCK-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: release signing key\n\nlFgEZvee3GkndYks8JWOH3OJPO3jIQ59q6pm21jD0Qft+VaeoQdBayirTg9tHk93\nyx0WLf90PjeaAatzWChFiaPbgGyOuOgXmB3f2W0m8i+P8fYprFDvrzJkMhOXciXi\ncXvdpXvw3eBMKE/iXiG8t6Yn1WuXF5FBPlZpgUUK\n-----END PGP PRIVATE KEY BLOCK-----",
        ),
        counterexamples=(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBFsED2qON6tNOiyWSiMadMrCFB89TBhiZoSntHnQtWpazx+BjgcPKLyeNE0\nw43BHnxee2nE8GN/Ai7rnGfXELmkgldHKUg315czt0616poqKCAxuLz7yASaSGBI\n-----END PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n...\n-----END PGP PRIVATE KEY BLOCK-----",
        ),
    ),
    Rule(
        id="putty-private-key",
        description="PuTTY private key (PPK; an encrypted one is lower severity but still a finding)",
        regex=r"PuTTY-User-Key-File-[23]: [^\r\n]{1,100}\r?\n(?:[^\r\n]*\r?\n){0,40}?Private-Lines: \d{1,3}\r?\n((?:[A-Za-z0-9+/=]{4,}\r?\n?){1,80})",
        keywords=("putty-user-key-file-",),
        entropy=4.0,
        secret_type="Private Key",
        hint=_KEY_HINT,
        tags=("multiline",),
        examples=(
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIkaTDiMJj+X5bdmnd0CQcIvTZT8bGTgTnEOGYSLn\nwRdjd9VR\nPrivate-Lines: 1\nAAAAIJaIQyur9g/r3+O9T3dc1l+LK5t35By492tBHYbQ\nPrivate-MAC: 2ccbbecdccf230f6187d9e694822553a841f8a59e0d7d2d1e8eaf371e59c8746",
            "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: rsa-key-2024\nPublic-Lines: 1\nAAAAB3NzaC1yc2Ee3u1upNhBJksAWzxyedf/iDfAjQ4T7duLAaC1ZN7\nPrivate-Lines: 2\njYkWmMJbEbHTOCShjck4OFBwlb8hIG1Rgcswu/wZbzTz0iXx/Wj1QDZ02cZIanEO\nLag5UE0PL07ACVeEVSitVEJoVWwZ/hNuBarJiXZ3\nPrivate-MAC: 0b40d00f15e644c697f2b939b20409cc139382d7",
        ),
        counterexamples=(
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nAAAA\n",
            "Save the PuTTY private key (.ppk) as PuTTY-User-Key-File format",
        ),
    ),
    Rule(
        id="age-secret-key",
        description="age encryption secret key",
        regex=r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        keywords=("age-secret-key-1",),
        entropy=3.5,
        hint="re-encrypt everything the key protects to a new recipient (e.g. rotate SOPS keys) and remove it from history",
        examples=(
            "AGE-SECRET-KEY-1E7MLGVVQ50N36M83ZKDKVRU65MEJ7AXV26WSZJ3TK8C6A2SVE70EU4DQF6",
            "SOPS_AGE_KEY=AGE-SECRET-KEY-17WEGEKXXD0YGXHN2MKPKFTQSJ8GY8UWASWSG83UFGG5QRUEVJHJDL7H8VW",
        ),
        counterexamples=(
            "# public key: age1a4j2fo3x75jmqgmgsurmhukfqrnh2dx54euticlf62jcxmcs6zbfs3uf4m",
            "AGE-SECRET-KEY-1C55EVFK5TBEA5YNO4YIKAAPHP3I2HD",
        ),
    ),
    Rule(
        id="jwt",
        description="JSON Web Token",
        regex=r"\b(eyJ[A-Za-z0-9_\-]{10,1000}\.(?:eyJ|eyA|ewo)[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,1000})",
        keywords=("eyj",),
        entropy=3.5,
        # The jwt.io sample token appears in countless docs and tests.
        allow_regexes=(r"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",),
        secret_type="JSON Web Token",
        hint="tokens expire, but rotate the signing key or revoke the session if this one is long-lived",
        examples=(
            "Authorization: Bearer eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiOHNxcDd0d2E5aTRhIiwgImlhdCI6IDE3MDk4Nzg4MzUsICJyb2xlIjogInNlcnZpY2UifQ.jChin-ilzswp2bIa9-mgL2y81NlELpwkcU0Uy4MKuGM",
            'SUPABASE_SERVICE_ROLE_KEY="eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiODNzbWo5OHk1OGNxIiwgImlhdCI6IDE3MDEwODYyODksICJyb2xlIjogInNlcnZpY2UifQ.PawsXyUBIl6_cGGw19zutTZGevb3k8VGZijbPrk636M"',
            "  token: eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiaWlqZGt0NDNtY2d6IiwgImlhdCI6IDE3MDI1NTE4MTYsICJyb2xlIjogInNlcnZpY2UifQ.0hTg_SgRV5q12W4hTUFeLkzN7VD3w91qiISYvtbplfg",
        ),
        counterexamples=(
            "token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "header = eyJhbGciOiJIUzI1NiJ9",
            "token: eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        ),
    ),
    Rule(
        id="jwe",
        description="JSON Web Encryption token (compact serialization)",
        regex=r"\b(eyJ[A-Za-z0-9_\-]{10,1000}\.[A-Za-z0-9_\-]{0,1000}\.[A-Za-z0-9_\-]{16,64}\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,64})"
        + r"(?:[^A-Za-z0-9_.\-]|$)",
        keywords=("eyj",),
        entropy=3.5,
        hint="rotate the key the token was encrypted to if the token grants access",
        examples=(
            "session=eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.SW2w0qUNHXhhsDG8Fpuuzoimz8D1Ytk8JBwUGYqADCXGVyyUWKRPOq-bklmo5cO_GxZoPowzwVoNGFq_UQ2Jg6EqW11GBTIXBh3jAH0U3FfB0StObN1JLgArGUTk4EkUtN5vbyf47wBMxBIH2GgKpkzlaGiaq8Y8pkJRmDNKzGxasf9XuqSj5aZPFWLiEGtsDPRqGPFOX_xNqzm9q-QFUd0NHwQyo1fSo_cNZL1Z0PPniKLo58TQ6mVVvFeqVwIpfIE1RV_EnVc5tItQ9NxpOixlD1pkizCvC-mEMQ9f5ijfzFCH6iGXid1zR2tmafV8f05gj0GxP1x9HFCy05tlaZ.3FTrLGJWe0B3R21m.hILx1-mt9Emk8sRSwj_JjdKcIKoJKPVJygrwfhr5mTW9ecqPGQSnFLFBiObpMc06kuEY25nhQ6LAE00VtkcBrtL7i-XdiLBOxwvZvHTaIYZdsc2hS9l7jJ5x.E9cmu9hFftWFCseeb0nOEh",
            'id_token: "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0..BqruWWeMlAXWMdkkpmuzuA.v8gtni0YD85nthFLTvcXyMDusW3IKyQ-w0vKDpksWw_6sVjEQu85KbZS0ATbR1xnq1PliTvZ81bujWp4.3d-K-a6jwbPQPUfX9eFIPP"',
        ),
        counterexamples=("token: eyJhbGciOiJkaXIifQ..a.b.c", "token: eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0.x.y"),
    ),
    Rule(
        id="kubeadm-bootstrap-token",
        description="Kubernetes bootstrap token (kubeadm join)",
        regex=r"(?i)(?:kubeadm\s{1,5}join\b[^\n]{0,200}?--token[=\s]{1,5}|bootstrap[_.\-]?token[\w.\-]{0,20}[\"']?[ \t]{0,5}[:=][ \t]{0,5}[\"']?)(?-i:([a-z0-9]{6}\.[a-z0-9]{16}))\b",
        keywords=("kubeadm", "bootstrap"),
        entropy=3.0,
        # The token the Kubernetes documentation uses in every example.
        allow_regexes=(r"^abcdef\.0123456789abcdef$",),
        hint="delete the token (kubeadm token delete) and create a short-lived one when a node needs to join",
        examples=(
            "kubeadm join 10.0.0.10:6443 --token o7zigk.ibv7nabk6qnr0klk --discovery-token-ca-cert-hash sha256:3e3f29361f41d3582831a5c568b37f321b119455f3d626804a5122e6d1a7e54d",
            'bootstrapToken: "v9hx8k.kves7c5xuxta4u4e"',
        ),
        counterexamples=(
            "kubeadm join 10.0.0.10:6443 --token <token> --discovery-token-ca-cert-hash sha256:<hash>",
            "kubeadm join 10.0.0.10:6443 --token abcdef.0123456789abcdef",
        ),
    ),
    Rule(
        id="kubeconfig-oidc-refresh-token",
        description="OIDC refresh token in a kubeconfig auth-provider",
        regex=r"(?i)\b(?:idp-)?refresh-token[ \t]{0,5}:[ \t]{0,5}[\"']?(?-i:([A-Za-z0-9_\-./+=~]{20,1000}))(?:[\"'\s]|$)",
        keywords=("refresh-token",),
        entropy=3.5,
        hint="revoke the refresh token at the identity provider and log in again",
        examples=(
            "        refresh-token: bQq8ngrgBc6DTX9YPdlBUmXr9CqLjoGLH1pWaHHKaY4FNvXWeP8_JoM-BcV-Lgkw",
            '      idp-refresh-token: "9pjme87MXimxheOAz-XH1YkDQerNaAZJHeVjC8WeDbv"',
        ),
        counterexamples=("        refresh-token: ${REFRESH_TOKEN}", "        refresh-token: aaaaaaaaaaaaaaaaaaaaaaaa"),
    ),
    Rule(
        id="authorization-bearer-generic",
        description="Bearer token in an Authorization header",
        regex=r"(?i)\bauthorization[\"']?\s{0,3}[:=,]\s{0,3}[\"']?bearer\s{1,3}(?-i:([A-Za-z0-9_\-.~+/]{20,1000}=*))",
        keywords=("bearer",),
        entropy=3.5,
        stopwords=("example", "your", "token_here", "xxxx"),
        hint="revoke the token at its issuer; never commit request headers with live credentials",
        examples=(
            'curl -H "Authorization: Bearer c_nhhJLoE1K1jLBhL2vzK872XGX6J7MorOaV6skT" https://api.internal/v1/things',
            "headers = {'Authorization': 'Bearer EoV8rqrkLDMqLnMQhfTjg7ESxKZ22ZN358WM8ovDNfpVnN18'}",
        ),
        counterexamples=(
            'curl -H "Authorization: Bearer $TOKEN" https://api.internal',
            'curl -H "Authorization: Bearer <your-access-token>" https://api.internal',
        ),
    ),
)
