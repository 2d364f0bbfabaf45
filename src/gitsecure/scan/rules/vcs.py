"""Source hosting: GitHub, GitLab, Bitbucket and Gitea.

GitHub's ``gh?_`` tokens end with six base62 characters of a CRC32 of the
random part, so their rules name a validator: a token-shaped string with a
wrong checksum (a hand-typed fake, a truncated copy) is not reported. CI
services are in ``ci``, package registries in ``registries``.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_TEXT, near

# GitLab tokens: a prefix, 20+ URL-safe characters, and in the newer routable
# format a ".<2-char version>.<base36 checksum>" tail.
_GL = r"[A-Za-z0-9_\-]{20,64}(?:\.[0-9a-z]{2}\.[0-9a-z]{5,12})?"


def _github(prefix: str, what: str) -> Rule:
    return Rule(
        id=f"github-{what.lower().replace(' ', '-')}",
        description=f"GitHub {what}",
        regex=r"\b(" + prefix + r"_[A-Za-z0-9]{36})\b",
        keywords=(prefix + "_",),
        entropy=3.0,
        validator="github-crc32",
        secret_type="GitHub Token",
        hint=_GITHUB_HINT,
        examples=_GITHUB_EXAMPLES[prefix],
        counterexamples=(
            f"GITHUB_TOKEN={prefix}_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            f"token: {prefix}_KXP8e0SAcQXkRNyAOcXK",
            # Right shape, wrong checksum: a hand-made fake.
            f'"token": "{prefix}_HMKqM3JaNk1YRCHMLVd0amSRV5HKPhAAAAAA"',
        ),
    )


_GITHUB_HINT = "revoke the token in GitHub (Settings > Developer settings) and remove it from history"
_GITLAB_HINT = "revoke the token in GitLab (its settings page or the tokens API) and remove it from history"
_GITHUB_EXAMPLES = {
    "ghp": (
        "GITHUB_TOKEN=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",
        "git clone https://x-access-token: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@github.com/org/repo.git",
    ),
    "gho": (
        '{"access_token": "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", "token_type": "bearer"}',
        "oauth_token: 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",
    ),
    "ghu": (
        "user_token = 'ghu_Lfn7H2BJ2CXBhUJadU2Kwy0dbLqjCX0plGpw'",
        "GH_USER_TOKEN=ghu_7KOS7HpcfeGpsxqXicZQcnH3kqeKwQ3JEB5e",
    ),
    "ghs": (
        "Authorization: token ghs_nYymBmmZZuEX9AsKY93Y5YpSLsk1DY4K4y1a",
        'installationToken: "ghs_8cnPqdEFBP4nDmwEtZACR4xOD7NE8g2wsWMa"',
    ),
    "ghr": (
        '{"refresh_token": "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"}',
        "GITHUB_REFRESH_TOKEN=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",
    ),
}


def _gitlab(rule_id: str, prefix: str, what: str, *, body: str = _GL) -> Rule:
    return Rule(
        id=rule_id,
        description=f"GitLab {what}",
        regex=r"\b(" + prefix.replace(".", r"\.") + body + r")" + END_TEXT,
        keywords=(prefix.lower(),),
        entropy=3.0,
        secret_type="GitLab Token",
        hint=_GITLAB_HINT,
        examples=_GITLAB_EXAMPLES[prefix],
        counterexamples=(f"token: {prefix}xxxxxxxxxxxxxxxxxxxxxxxx", f"token = {prefix}zSJUJok1"),
    )


_GITLAB_EXAMPLES = {
    "glpat-": (
        "GITLAB_TOKEN=glpat-jWiTx1EA088ZWjFvs1Yb",
        'private_token: "glpat-6yYhPgxpFSncZ1zcbH-UL1hD7u5.01.pftay65ab"',
    ),
    "gldt-": ("CI_DEPLOY_PASSWORD=gldt-pC9PZieQB2U7zW1kMvGJ", 'deploy_token: "gldt-lXGI4rQqPsNoTjy_efRS"'),
    "glrt-": ('token = "glrt-3Kw6rI_ZOyi5aQPr7VFo"', "RUNNER_TOKEN=glrt-t1_IezhT5N0tBTkukqTR_KK"),
    "glptt-": (
        "curl -F token=glptt-a7bb9152aa7b187274e6b6e0c8e178fed745738e -F ref=main https://gitlab.com/api/v4/projects/1/trigger/pipeline",
        'trigger_token: "glptt-f0e5692f7eb790e1a8c0ee217556800d84eb967c"',
    ),
    "GR1348941": (
        "REGISTRATION_TOKEN=GR1348941VbO6_OipoDH_fMLXvF4I",
        'gitlab-runner register --registration-token "GR1348941t7mr1r0vpat_VT6vLyhu"',
    ),
    "glcbt-": ("CI_JOB_TOKEN=glcbt-64_ITdwAfypKFpx_wxGL1r2", 'job_token: "glcbt-I-JieWYPi_q4BsYiBXdjPS8y"'),
    "glsoat-": ("SCIM_TOKEN=glsoat-9THco_BRlhiwqOwbNfJO", 'scim_token: "glsoat-zeyG0WnW7e9rjKqW0xP8"'),
    "gloas-": (
        "GITLAB_OAUTH_SECRET=gloas-451cac0245df7f00832ea2553f2be9b05d15d790ff5da267d7b980f53de38b98",
        'client_secret: "gloas-9259bd892ec215aba3ac4bb828e7b255c8b34085e28a9b857cb44abd6121f302"',
    ),
    "glft-": (
        "FEED_TOKEN=glft-0j62SMvLfg64-Cn5n-HQ",
        "https://gitlab.com/dashboard/projects.atom?feed_token=glft-NK9U0msxNY9B7iB3qVYO",
    ),
    "glimt-": (
        "incoming_email_token: glimt-fBaxptQu_RDBfOwOtgTuG2ojE",
        'INCOMING_MAIL_TOKEN="glimt-QU6nIffBt_UdEVmcZmf5LpmMH"',
    ),
    "glffct-": ("UNLEASH_INSTANCE_ID=glffct-RZbKkE6MPD7HgmlRN_9i", 'instanceId: "glffct-NuSCELj4kT4WuWsJBlYW"'),
    "glagent-": (
        "agent_token: glagent-9appMW9EIhY3PnxSO0Y65W3ugnV5-uw7lrs2rrNEUEijOxHoSu",
        'AGENT_TOKEN="glagent-S_n8id8usCKgnRQ8DCYVB5GRtqo5dQF6qfRv0arTvwvc4i0gQ3"',
    ),
}


RULES: tuple[Rule, ...] = (
    # --- GitHub ---------------------------------------------------------------------------
    _github("ghp", "personal access token"),
    _github("gho", "OAuth access token"),
    _github("ghu", "user-to-server token"),
    _github("ghs", "server-to-server token"),
    _github("ghr", "refresh token"),
    Rule(
        id="github-fine-grained-pat",
        description="GitHub fine-grained personal access token",
        regex=r"\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        keywords=("github_pat_",),
        entropy=3.5,
        secret_type="GitHub Token",
        hint=_GITHUB_HINT,
        examples=(
            "GITHUB_TOKEN=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",
            'token: "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"',
        ),
        counterexamples=(
            "GITHUB_TOKEN=github_pat_1fXXcY31ud7crJ5NMKCJeq_DRtDrgOEh40FWD1RP2XO",
            "GITHUB_TOKEN=github_pat_XXXXXXXXXXXXXXXXXXXXXX_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        ),
    ),
    Rule(
        id="github-app-installation-token-jwt",
        description="GitHub App installation token (stateless JWT format)",
        regex=r"\b(ghs_[A-Za-z0-9_\-]{20,1000}\.[A-Za-z0-9_\-]{20,1000}\.[A-Za-z0-9_\-]{20,1000})",
        keywords=("ghs_",),
        entropy=4.0,
        secret_type="GitHub Token",
        hint="installation tokens expire within an hour; rotate the App's private key if it leaked too",
        examples=(
            "Authorization: Bearer ghs_0krCmEFWStRQ92u_eiXYRtTmTu1i1kwN1CPUpf3tFzfJpGzvXm3Lpu3I1Xfb.qkNB17bv4sOuTP5_iYV6eGjlcH2GY2ovklPjrD416B389Q1DC-LHo8Ytr5QlicWLIsr_n7xBEF4ulyP4TLRu9_bMGkn5p4d-qPxrklfKMuLYW8De3h4x1fVaWRj5fXiep-Bnwcsmajt1XUHB_DFp_ztFQci0yUZB21KXbyCaDvGLZA_72-afdtxtRdgj6Jfdu0WMwXH8j2iUwtHIVlaoiSSXjWjQyiZ5PVVjBdmnSgLlKqhSfUSPbL58EwW8aBWrBBT3yeajwXMwUlE5KFCKVv8RNMM8CA4GE4NHfdp5kT33.yJcc6Z37gB9ItdH2DOjktSj6RHEjUQNjca-HYY1q6XxmDIx_rFJrcaawMIVNlP4wX62zJxQSlgMEXlOyK_rQOz",
            'GH_TOKEN="ghs_7g72FdSPm2D6e8ntbfWO424NZlsbjYmYg4ROTDFpEQbR3TdjMM.xsFTE5CVI_Z7n3g3qejWawI2rk8-V6EL6ej_fIE4Vb00MOJfXJ8lCV5yAaNNDMnbHpNL2hkQGRW03PQMCime4WIkOVmPuz2KS0P60FfnZeQwKA8j60W2etHY5PpPTPKJJGZ2QUSow1EBfCviG4QPts6zIwKUoyVxIVrTLoWNsw_6DTuh_v7JPW4CCn6ywYMxFY4guT0P.pzDyC1og-m3JWryw3F_UnEI2fRFZqaGVAH7-EnY0nTm"',
        ),
        counterexamples=(
            "token = ghs_short.part.here",
            "token = ghs_xxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
    Rule(
        id="github-oauth-client-secret",
        description="GitHub OAuth App client secret",
        regex=near(r"github[\w.\-]{0,20}?client[_.\-]?secret|gh[_.\-]client[_.\-]?secret", r"[a-f0-9]{40}"),
        keywords=("github", "gh_client", "gh-client"),
        secret_group=1,
        entropy=3.0,
        hint="generate a new client secret for the OAuth App in GitHub (Settings > Developer settings)",
        examples=(
            "GITHUB_CLIENT_SECRET=45076170d4336ff6ff0756dd076fbcd1f951fc0a",
            'github_client_secret: "502d95322612375231c07c8ed350773255212a54"',
        ),
        counterexamples=("GITHUB_CLIENT_SECRET=${GITHUB_CLIENT_SECRET}", "GITHUB_CLIENT_ID=Iv1.59b1658d326c0d1e"),
    ),
    Rule(
        id="github-token-legacy",
        description="GitHub token (legacy 40-hex format)",
        regex=near(
            r"github[_.\-]?(?:token|pat|access[_.\-]?token|oauth[_.\-]?token)|gh[_.\-](?:token|pat)", r"[a-f0-9]{40}"
        ),
        keywords=("github", "gh_token", "gh-token", "gh_pat"),
        secret_group=1,
        entropy=3.0,
        secret_type="GitHub Token",
        hint=_GITHUB_HINT,
        examples=(
            "GITHUB_TOKEN=d9a2469f064cec922c5a044b3a798ca842ffb631",
            'gh_token: "e3a3373fb0d5147530680c3cc9d8c2e28d753906"',
        ),
        counterexamples=(
            "GITHUB_SHA=a65255242e19d569c64d0e8255d3095654313c03",
            "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
        ),
    ),
    # --- GitLab ---------------------------------------------------------------------------
    _gitlab("gitlab-pat", "glpat-", "personal, project or group access token"),
    _gitlab("gitlab-deploy-token", "gldt-", "deploy token"),
    _gitlab("gitlab-runner-auth-token", "glrt-", "runner authentication token"),
    _gitlab("gitlab-pipeline-trigger-token", "glptt-", "pipeline trigger token"),
    _gitlab("gitlab-runner-registration-token", "GR1348941", "runner registration token"),
    _gitlab("gitlab-ci-job-token", "glcbt-", "CI/CD job token"),
    _gitlab("gitlab-scim-token", "glsoat-", "SCIM OAuth token"),
    _gitlab("gitlab-oauth-app-secret", "gloas-", "OAuth application secret"),
    _gitlab("gitlab-feed-token", "glft-", "feed token"),
    _gitlab("gitlab-incoming-mail-token", "glimt-", "incoming email token"),
    _gitlab("gitlab-feature-flag-client-token", "glffct-", "feature flags client token"),
    _gitlab("gitlab-agent-token", "glagent-", "Kubernetes agent token", body=r"[A-Za-z0-9_\-]{50,128}"),
    # --- Bitbucket ------------------------------------------------------------------------
    Rule(
        id="bitbucket-app-password",
        description="Bitbucket app password",
        regex=r"\b(ATBB[A-Za-z0-9]{32,40})\b",
        keywords=("atbb",),
        entropy=3.5,
        hint="revoke the app password in Bitbucket (Personal settings > App passwords) and move to API tokens",
        examples=(
            "BITBUCKET_APP_PASSWORD=ATBBb3JmSljSdf2Febl2apQvNWKkMvZhD48EA348",
            'password: "ATBBxieajWr16GaB3CVnjkRiANuRVkmtlgLm"',
        ),
        counterexamples=("BITBUCKET_APP_PASSWORD=ATBBSOibRqllID", "password: ATBBXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ),
    Rule(
        id="bitbucket-access-token",
        description="Bitbucket repository, project or workspace access token",
        regex=r"\b(ATCTT3xFfGN0[A-Za-z0-9_=\-]{100,300})" + r"(?:[^A-Za-z0-9_=\-]|$)",
        keywords=("atctt3xffgn0",),
        entropy=4.0,
        hint="revoke the access token in the repository, project or workspace settings",
        examples=(
            "BITBUCKET_ACCESS_TOKEN=ATCTT3xFfGN0Ndk331hKWqsSnA5cL-UnKq8whlkqgGHy20JQcdHj8_8kff7KN7D8HuXFljR09MpfJ10dy446ZmXLevormZc67-f8NBg82tfE3Ef8nTs0Mp0ewDnIIPY3t5sdTDCikMEH6clCHf82EyfRBUWLwXSjzMKxmRij9j9rSOX_pz3YN8f77AYL8sUH=E76C88E0",
            "Authorization: Bearer ATCTT3xFfGN0frzdMDeKOZPwAR9bx9v0DlMRu7Fu5mvo47sa986AOB84RuvgzBmmPqcL4QA1kfGrhSpTIn2IpkM_YzzRUdAQxOCQUTSiZg6gwrLMU3eW9r6rPk-gjUgLqSxF6zwi5wVo2bRDjdpwLPVHaaRyjodYdaRX_EJ9jt4XG7FKmTIMyU",
        ),
        counterexamples=("token = ATCTT3xFfGN0PgCGF5Qy4-2cXHwnTfYR", "token = ATCTT3xFfGN0<access-token>"),
    ),
    # --- Gitea ----------------------------------------------------------------------------
    Rule(
        id="gitea-access-token",
        description="Gitea / Forgejo access token",
        regex=near(r"(?:gitea|forgejo)[\w.\-]{0,20}?token", r"[a-f0-9]{40}"),
        keywords=("gitea", "forgejo"),
        secret_group=1,
        entropy=3.0,
        hint="delete the token in Gitea (Settings > Applications)",
        examples=(
            "GITEA_TOKEN=cea082d8300f5ceb64a2b332ebcd76ee5df0d21b",
            'forgejo_token: "8feb6af52fe0ba1748b5fe0739a46fe82f89968a"',
        ),
        counterexamples=("GITEA_TOKEN=${GITEA_TOKEN}", "GITEA_SHA=173cd3b8721fbfd32c9c3e356ade5847b2f934a6"),
    ),
)
