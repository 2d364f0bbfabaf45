"""Source hosting, CI/CD and package registries: GitHub, GitLab, Bitbucket, CI services, npm, PyPI...

Where the provider documents a checksum (GitHub's ``gh?_`` tokens and npm's
``npm_`` tokens end with six base62 characters of a CRC32 of the random
part), the rule names a validator, so a token-shaped string with a wrong
checksum (a hand-typed fake, a truncated copy) is not reported.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_END = r"(?:[^A-Za-z0-9_\-]|$)"
# GitLab tokens: a prefix, 20+ URL-safe characters, and in the newer routable
# format a ".<2-char version>.<base36 checksum>" tail.
_GL = r"[A-Za-z0-9_\-]{20,64}(?:\.[0-9a-z]{2}\.[0-9a-z]{5,12})?"


def _near(name: str, value: str) -> str:
    """A case-insensitive ``name ... = value`` assignment, the value (case-sensitive) in group 1."""
    return (
        r"(?i)(?:" + name + r")[\w.\-]{0,25}[\"'\]]{0,2}\s{0,5}(?::=|=>|=|:|\s)\s{0,5}[\"'`]?"
        r"(?-i:(" + value + r"))(?:[\"'`\s;,)\]}<&\\]|$)"
    )


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
        regex=r"\b(" + prefix.replace(".", r"\.") + body + r")" + _END,
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
        regex=_near(r"github[\w.\-]{0,20}?client[_.\-]?secret|gh[_.\-]client[_.\-]?secret", r"[a-f0-9]{40}"),
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
        regex=_near(
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
    # --- Bitbucket -----------------------------------------------------------------------
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
    # --- CI/CD ---------------------------------------------------------------------------
    Rule(
        id="circleci-personal-token",
        description="CircleCI personal API token",
        regex=r"\b(CCIPAT_[A-Za-z0-9]{18,26}_[a-f0-9]{40})\b",
        keywords=("ccipat_",),
        entropy=3.5,
        hint="delete the token in CircleCI (User settings > Personal API tokens)",
        examples=(
            "CIRCLECI_TOKEN=CCIPAT_HSPwDabUMN0YQt10ycGiXc_1416da693b5c7a2be9c88377cf61fa72afe6c5ac",
            'circle_token: "CCIPAT_Fpcrm9PHPWiTqxbvwuYNdx_9236bc7259c78989b18d3ee682ac4988ddfb7352"',
        ),
        counterexamples=("CIRCLECI_TOKEN=CCIPAT_eS0fl0k5VviBKQRDaAUQEC_e0ad140a98", "CIRCLECI_TOKEN=CCIPAT_<token>"),
    ),
    Rule(
        id="circleci-project-token",
        description="CircleCI project API token",
        regex=r"\b(CCIPRJ_[A-Za-z0-9]{18,26}_[a-f0-9]{40})\b",
        keywords=("cciprj_",),
        entropy=3.5,
        hint="delete the token in CircleCI (Project settings > API permissions)",
        examples=(
            "CIRCLE_PROJECT_TOKEN=CCIPRJ_kvH7WXyqxRfT2O9xuMf8yl_42d5ceba26cca7fa0c5b534644d8c1b6bd79de9b",
            'token: "CCIPRJ_SZRxV8s1H0aZW7u5s4ZHIQ_03aa1790a84cb2dd018da3a11a411a6497a39188"',
        ),
        counterexamples=("token = CCIPRJ_BFW1Bg9tjCATzglVxNSifV", "token = CCIPRJ_${TOKEN}"),
    ),
    Rule(
        id="circleci-token-legacy",
        description="CircleCI API token (legacy 40-hex format)",
        regex=_near(r"circle(?:ci)?[\w.\-]{0,20}?token", r"[a-f0-9]{40}"),
        keywords=("circle",),
        secret_group=1,
        entropy=3.0,
        hint="delete the token in CircleCI (User settings > Personal API tokens)",
        examples=(
            "CIRCLE_TOKEN=5c7e8700b92c8d1fc5d491af34a79b879b35c607",
            'circleci_api_token: "4749b496b05f11b5ed6acacaaf4940de8d910440"',
        ),
        counterexamples=("CIRCLE_SHA1=80b06c580ea1dc71f30fd4cd732d1b89f839f33c", "CIRCLE_TOKEN=${CIRCLE_TOKEN}"),
    ),
    Rule(
        id="travis-ci-token",
        description="Travis CI API token",
        regex=_near(r"travis[\w.\-]{0,20}?(?:token|api[_.\-]?key)", r"[A-Za-z0-9_\-]{22}"),
        keywords=("travis",),
        secret_group=1,
        entropy=3.5,
        hint="regenerate the token in Travis CI (Settings > API authentication)",
        examples=("TRAVIS_API_TOKEN=IY1zZ3yVhw4nhbdWy3mRzi", 'travis_token: "UjKzKEidQZsdYayJ2EolbT"'),
        counterexamples=("TRAVIS_TOKEN=${TRAVIS_TOKEN}", "TRAVIS_BUILD_TOKEN=abc"),
    ),
    Rule(
        id="buildkite-api-token",
        description="Buildkite user API access token",
        regex=r"\b(bkua_[a-f0-9]{40})\b",
        keywords=("bkua_",),
        entropy=3.0,
        hint="revoke the token in Buildkite (Personal settings > API access tokens)",
        examples=(
            "BUILDKITE_API_TOKEN=bkua_917db05bdd1044669cbbe48ea4de4cd848ccdc40",
            'token: "bkua_b5b0319e5da54b3718e9c54e9192d684f2c1e184"',
        ),
        counterexamples=("BUILDKITE_API_TOKEN=bkua_5f0966123d20e537d99d", "BUILDKITE_API_TOKEN=bkua_<token>"),
    ),
    Rule(
        id="azure-devops-pat",
        description="Azure DevOps personal access token (52-character format)",
        regex=_near(
            r"azure[_.\-]?devops[\w.\-]{0,20}?(?:pat|token)|(?:ado|azdo|vsts)[_.\-]?(?:pat|token)|system[_.\-]?accesstoken|azure[_.\-]?devops[_.\-]?ext[_.\-]?pat",
            r"[a-z2-7]{52}",
        ),
        keywords=("devops", "ado_", "ado-", "azdo", "vsts", "accesstoken"),
        secret_group=1,
        entropy=3.5,
        hint="revoke the PAT in Azure DevOps (User settings > Personal access tokens); prefer Entra tokens",
        examples=(
            "AZURE_DEVOPS_EXT_PAT=ciicomdftyngwjrimgo6dlcd5qfhbor6afpguxf4ccxgsb44zzgk",
            'ado_pat: "e7xo6aybihga57brn3bn7gy4ogqlalfjtbpdjix2etrrdg7oogap"',
        ),
        counterexamples=(
            "AZURE_DEVOPS_EXT_PAT=$(System.AccessToken)",
            "AZURE_DEVOPS_PAT=eg2tqqcqrmz7oapnysjr2qzf76n45zbxuifwfrhv",
        ),
    ),
    Rule(
        id="azure-devops-pat-v2",
        description="Azure DevOps personal access token (84-character format)",
        regex=r"\b([A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4})\b",
        keywords=("azdo",),
        entropy=3.5,
        hint="revoke the PAT in Azure DevOps (User settings > Personal access tokens); prefer Entra tokens",
        examples=(
            "AZURE_DEVOPS_EXT_PAT=9iqMxrsGBoApYX3mSdMqSebdDxuOIHArUypR6CXv1JRbOEYUndUwJQQJ99BBACAAAAtfOcbhvzJcAZDO1TfX",
            'pat: "EZ3Xt6S8bB2iFcstfAtPFTkftkvCPf7qXm5qH92lIaARFYCcqtfyK9iIR2fdtKmDUJITghfefh1qAZDOjl6C"',
        ),
        counterexamples=(
            "pat: I4YHKzkkazuJwFVXprfvjTpIzAfjWYImAzHzBpMAgavsxV1GucDJBH2paHduhjQHvoIU7LAZDOP7hC",
            "pat: NGf9RMrrskSbTmfvfxBvzJQUMgU29LU5BcZAr9uLcK54J13wqOJ6VDRzKEuTlnsEqpI3HRWacwx1AZDXdR60",
        ),
    ),
    Rule(
        id="jenkins-api-token",
        description="Jenkins API token",
        regex=_near(r"jenkins[\w.\-]{0,20}?(?:token|api[_.\-]?key|password)", r"11[a-f0-9]{32}"),
        keywords=("jenkins",),
        secret_group=1,
        entropy=3.0,
        hint="revoke the token in Jenkins (user > Configure > API Token)",
        examples=(
            "JENKINS_API_TOKEN=111a020d0d26d63552a759480bfc4f5deb",
            'jenkins_token: "1129f2abaaf9ceed28fe494db636ba1a07"',
        ),
        counterexamples=("JENKINS_API_TOKEN=110be0556922c92cc3df", "JENKINS_API_TOKEN=${JENKINS_API_TOKEN}"),
    ),
    Rule(
        id="sonarqube-project-token",
        description="SonarQube project analysis token",
        regex=r"\b(sqp_[a-f0-9]{40})\b",
        keywords=("sqp_",),
        entropy=3.0,
        hint="revoke the token in SonarQube (My Account > Security)",
        examples=(
            "SONAR_TOKEN=sqp_8040a5ff950511299477d3646753099abb29891c",
            "mvn sonar:sonar -Dsonar.token=sqp_4150064e76c4175e102593d4c126423b92d7e111",
        ),
        counterexamples=("SONAR_TOKEN=sqp_a03523746f5d0ea6960d", "SONAR_TOKEN=sqp_<token>"),
    ),
    Rule(
        id="sonarqube-user-token",
        description="SonarQube user token",
        regex=r"\b(squ_[a-f0-9]{40})\b",
        keywords=("squ_",),
        entropy=3.0,
        hint="revoke the token in SonarQube (My Account > Security)",
        examples=(
            "SONAR_TOKEN=squ_0a33f0368f009eec1003a4920bf7af16ccaaabf8",
            'sonar.login: "squ_e4729297b80b9348d5fc58b2ce09d575dc5c0432"',
        ),
        counterexamples=("SONAR_TOKEN=squ_8a957b8ca24cf60e0e1ac857d88944794968e75", "SONAR_TOKEN=squ_${TOKEN}"),
    ),
    Rule(
        id="sonarqube-global-token",
        description="SonarQube global analysis token",
        regex=r"\b(sqa_[a-f0-9]{40})\b",
        keywords=("sqa_",),
        entropy=3.0,
        hint="revoke the token in SonarQube (Administration > Security)",
        examples=(
            "SONAR_TOKEN=sqa_2a7712c47f9fb40de10781ede4b55f702a399ce0",
            '"sonarToken": "sqa_8332f13703f318611c2a716ceaee63eb619f5497"',
        ),
        counterexamples=("SONAR_TOKEN=sqa_2217fd249dc4181ab577e3c8aef965", "SONAR_TOKEN=sqa_<token>"),
    ),
    Rule(
        id="sonarcloud-token",
        description="SonarCloud / SonarQube token (unprefixed)",
        regex=_near(r"sonar[\w.\-]{0,20}?(?:token|login)", r"[a-f0-9]{40}"),
        keywords=("sonar",),
        secret_group=1,
        entropy=3.0,
        hint="revoke the token in SonarCloud (My Account > Security)",
        examples=(
            "SONAR_TOKEN=a6480c4f885f741e13fe1d501adf499913a0bb1e",
            "sonar.login=e8e586ca6ba0e7117fc57d3d0209d5606a1dfa04",
        ),
        counterexamples=("SONAR_TOKEN=${{ secrets.SONAR_TOKEN }}", "SONAR_PROJECT_KEY=270bb924880b46e3e0d3"),
    ),
    Rule(
        id="codecov-token",
        description="Codecov upload token",
        regex=_near(r"codecov[\w.\-]{0,20}?token", _UUID),
        keywords=("codecov",),
        secret_group=1,
        entropy=3.0,
        hint="regenerate the upload token in the Codecov repository settings",
        examples=(
            "CODECOV_TOKEN=b9aa7d73-ce20-4982-b37e-31b45a440f08",
            'codecov_token = "d60c950d-0abc-4938-8714-7e3debafd0e7"',
        ),
        counterexamples=(
            "CODECOV_TOKEN=${{ secrets.CODECOV_TOKEN }}",
            "CODECOV_TOKEN=00000000-0000-0000-0000-000000000000",
        ),
    ),
    Rule(
        id="teamcity-access-token",
        description="TeamCity access token",
        regex=r"\b(eyJ0eXAiOiAiVENWMiJ9\.[A-Za-z0-9_\-]{30,100}\.[A-Za-z0-9_\-]{30,100})" + _END,
        keywords=("eyj0exaioiaivenwmij9",),
        entropy=3.5,
        hint="delete the token in TeamCity (Profile > Access Tokens)",
        examples=(
            "TEAMCITY_TOKEN=eyJ0eXAiOiAiVENWMiJ9.Ro2MGQiOAT69PPBcLojpbgoKSCTfhNZgIUon.Qjzo44xlfR0LcEN6C082-eXU62ZnINLgmiIS3MA546P6DETE",
            "Authorization: Bearer eyJ0eXAiOiAiVENWMiJ9.ZOP3ESdB_Uv08m2ZnAUlyTTdzRCe1wTdlgt4kbOH.JgVMThyZ2qruTQQaXwMqSpuMEbH9a1kPsGosp0oarQ3_gSYW",
        ),
        counterexamples=("token = eyJ0eXAiOiAiVENWMiJ9.short.short", "token = eyJ0eXAiOiAiVENWMiJ9"),
    ),
    Rule(
        id="octopus-deploy-api-key",
        description="Octopus Deploy API key",
        regex=r"\b(API-[A-Z0-9]{26,32})\b",
        keywords=("api-",),
        entropy=3.5,
        hint="revoke the API key in Octopus (Profile > My API keys)",
        examples=(
            "OCTOPUS_API_KEY=API-YCWW4L2CBSRDKRF6MO6MQEYL4BU",
            'octopus.apiKey: "API-KROPSWSINV7R37CDL4I7OT4BQFYMX0"',
        ),
        counterexamples=("OCTOPUS_API_KEY=API-XXXXXXXXXXXXXXXXXXXXXXXXXXX", "x = API-VERSION-2024"),
    ),
    Rule(
        id="harness-pat",
        description="Harness personal access or service account token",
        regex=r"\b((?:pat|sat)\.[A-Za-z0-9_\-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20})\b",
        keywords=("pat.", "sat."),
        entropy=3.5,
        hint="delete the token in Harness (My profile > My API keys)",
        examples=(
            "HARNESS_PLATFORM_API_KEY=pat.Ibww3DGhM7D2rB55MDCij5.2ff06172298926e82b5f6af1.8gcM86d9b79rVOlhdeSZ",
            'x-api-key: "sat.BBlbBmND5qG3O-TtEvIsE8.06952a33af2b48130132c005.IHDg5gnqnS5NwDFxVcVe"',
        ),
        counterexamples=("HARNESS_PLATFORM_API_KEY=pat.<account>.<id>.<secret>", "file = pat.od3XMcdXkr.txt"),
    ),
    Rule(
        id="drone-ci-token",
        description="Drone CI personal token",
        regex=_near(r"drone[_.\-]?token", r"[A-Za-z0-9]{32}"),
        keywords=("drone_token", "drone-token", "dronetoken", "drone.token"),
        secret_group=1,
        entropy=3.5,
        hint="rotate the token in Drone (User settings)",
        examples=("DRONE_TOKEN=do63d7YUk8O1C3vJE0JugcpJJwbveIlg", 'drone_token: "7RItrgnSgMStR3rAaiFDgBOqgoBZDSI8"'),
        counterexamples=("DRONE_TOKEN=${DRONE_TOKEN}", "DRONE_TOKEN=Tz3PF6E8AiMkIEcv"),
    ),
    Rule(
        id="sourcegraph-access-token",
        description="Sourcegraph access token",
        regex=r"\b(sgp_(?:(?:[a-f0-9]{16}|local)_)?[a-f0-9]{40})\b",
        keywords=("sgp_",),
        entropy=3.0,
        hint="delete the token in Sourcegraph (Settings > Access tokens)",
        examples=(
            "SRC_ACCESS_TOKEN=sgp_c974e2960e41fc41_3826d5e42f754759063369eb00248ea8f7fb74f9",
            'token: "sgp_e90d3403a2d69ace24bae22e4a9ef14debc303d1"',
        ),
        counterexamples=("SRC_ACCESS_TOKEN=sgp_bf637270eaade745cd6f", "SRC_ACCESS_TOKEN=sgp_<token>"),
    ),
    Rule(
        id="gitea-access-token",
        description="Gitea / Forgejo access token",
        regex=_near(r"(?:gitea|forgejo)[\w.\-]{0,20}?token", r"[a-f0-9]{40}"),
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
    # --- Package registries ----------------------------------------------------------------
    Rule(
        id="npm-access-token",
        description="npm access token",
        regex=r"\b(npm_[A-Za-z0-9]{36})\b",
        keywords=("npm_",),
        entropy=3.0,
        validator="npm-crc32",
        secret_type="NPM tokens",
        hint="revoke the token (npm token revoke) and use a granular, automation-scoped token in CI",
        examples=(
            "//registry.npmjs.org/:_authToken=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",
            'NPM_TOKEN="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"',
        ),
        counterexamples=(
            "NPM_TOKEN=npm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            'NPM_TOKEN="npm_dgt1M6XqIKDvglAUAt7a0vbR7A9zQ4AAAAAA"',
        ),
    ),
    Rule(
        id="npm-legacy-auth-token",
        description="npm legacy (UUID) auth token in .npmrc",
        regex=r"(?i)_authToken\s{0,5}=\s{0,5}[\"']?(" + _UUID + r")",
        keywords=("_authtoken",),
        entropy=3.0,
        secret_type="NPM tokens",
        hint="revoke the token (npm token revoke) and use a granular access token",
        examples=(
            "//registry.npmjs.org/:_authToken=9a5ef752-8be0-4897-9f6b-7df4dc90b1be",
            "//npm.pkg.example.org/:_authToken = f7a13d42-244c-41de-8c10-171f0fb9fc2d",
        ),
        counterexamples=(
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
            "//registry.npmjs.org/:_authToken=00000000-0000-0000-0000-000000000000",
        ),
    ),
    Rule(
        id="npmrc-basic-auth",
        description="Base64 user:password in an .npmrc _auth or _password setting",
        regex=r"(?i)(?:^|[\s:])_(?:auth|password)\s{0,5}=\s{0,5}[\"']?(?-i:([A-Za-z0-9+/]{12,512}={0,2}))(?:[\"'\s]|$)",
        keywords=("_auth", "_password"),
        entropy=3.0,
        secret_type="NPM tokens",
        hint="change the registry password and use a scoped token instead",
        examples=(
            "_auth=fkER0R5h9NUsdYYWtkRcXfXNuRxplB2N",
            "//nexus.internal/repository/npm/:_password=6UJgIsr2RMq0Ki/vRsRODt54",
        ),
        counterexamples=("_auth=${NPM_AUTH}", "_authToken=448f4793-5121-49e0-9378-86db0ad84b30"),
    ),
    Rule(
        id="pypi-token",
        description="PyPI API token",
        regex=r"\b(pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,1000})",
        keywords=("pypi-ageichlwas5vcmc", "pypi-agendgvzdc5wexbplm9yzw"),
        entropy=3.5,
        secret_type="PyPI Token",
        hint="delete the token on PyPI (Account settings > API tokens); prefer trusted publishing",
        examples=(
            "password = pypi-AgEIcHlwaS5vcmck_Fq8xSg4abkQsn8f9yVTGN3orO67rWs-CUQJEF4hGn0aP_s9E81iaHWO81HQ9fpRF2qZ8taprNss42V-1P8qFe29atdc6V_e0xtd0eq-byso1Gi-bJ_1XP1o7MYfvqZIwC6FXPSCMV9",
            "TWINE_PASSWORD=pypi-AgENdGVzdC5weXBpLm9yZw45PnQqyQtbiD2ZvaUVDqF6ENFI4SxgoEXbATrn2M0sUg5b-g1FAPeXdu0HFbXLppM4LOHD2En8cU4hSXJGHP8DVu3MHMpH2k5F3FtSytTSar8xoIv24PAQ8I",
        ),
        counterexamples=(
            "password = pypi-AgEIcHlwaS5vcmc",
            "password = pypi-QH3MJKbFesuNyLaPsuVMfWq9yIePVSaxbXpmjq4Mxu1UA8xL-fZiPl0YXSfp",
        ),
    ),
    Rule(
        id="rubygems-api-key",
        description="RubyGems API key",
        regex=r"\b(rubygems_[a-f0-9]{48})\b",
        keywords=("rubygems_",),
        entropy=3.0,
        hint="revoke the key on rubygems.org (Settings > API keys); prefer trusted publishing",
        examples=(
            ":rubygems_api_key: rubygems_7cd0c570d862baa0b1b5b0bc424a7f9f8166ce1904052236",
            "GEM_HOST_API_KEY=rubygems_a2383a4f2f7efa7edc1e34b53ac3f91993037c5cb31d14cc",
        ),
        counterexamples=("GEM_HOST_API_KEY=rubygems_a3e117f76bf871643e34", "GEM_HOST_API_KEY=rubygems_<key>"),
    ),
    Rule(
        id="nuget-api-key",
        description="NuGet.org API key",
        regex=r"\b(oy2[a-z0-9]{43})\b",
        keywords=("oy2",),
        entropy=3.5,
        hint="delete the key on nuget.org (API keys); prefer trusted publishing",
        examples=(
            "dotnet nuget push pkg.nupkg --api-key oy2ua01d52x5oz7cqhrnm1tgff5gimlcgj29lec87mep5h --source https://api.nuget.org/v3/index.json",
            "NUGET_API_KEY=oy2996u46udziveamqadn8fsq0i4ydycec5ao7yvvr6w3k",
        ),
        counterexamples=(
            "NUGET_API_KEY=oy2jh5yz30i41tmacsrnbj9",
            "NUGET_API_KEY=oy2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
    ),
    Rule(
        id="docker-hub-pat",
        description="Docker Hub personal access token",
        regex=r"\b(dckr_pat_[A-Za-z0-9_\-]{27,40})" + _END,
        keywords=("dckr_pat_",),
        entropy=3.5,
        hint="delete the token in Docker Hub (Account settings > Personal access tokens)",
        examples=(
            "echo dckr_pat_QxvAyRbncN5cnmkAM7Jhc_Q_bkU | docker login -u ci --password-stdin",
            'DOCKERHUB_TOKEN="dckr_pat_9acnL0CNPtrUV1-_3UZk2cw00O1"',
        ),
        counterexamples=("DOCKERHUB_TOKEN=dckr_pat_zFzT6hM4bx", "DOCKERHUB_TOKEN=dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ),
    Rule(
        id="docker-hub-org-token",
        description="Docker Hub organization access token",
        regex=r"\b(dckr_oat_[A-Za-z0-9_\-]{27,40})" + _END,
        keywords=("dckr_oat_",),
        entropy=3.5,
        hint="delete the token in Docker Hub (Organization settings > Access tokens)",
        examples=(
            "DOCKER_ORG_TOKEN=dckr_oat_EkgBcSRdxT9pa-MEgY0_oV_lPJ4Fnq2T",
            'password: "dckr_oat_UStkMvPYSPOUnYtvlDDu7xyUXNbjNJmb"',
        ),
        counterexamples=("DOCKER_ORG_TOKEN=dckr_oat_jdSppeNblcWC", "DOCKER_ORG_TOKEN=dckr_oat_${TOKEN}"),
    ),
    Rule(
        id="jfrog-api-key",
        description="JFrog Artifactory API key",
        regex=r"\b(AKCp[A-Za-z0-9]{69})\b",
        keywords=("akcp",),
        entropy=3.5,
        secret_type="Artifactory Credentials",
        hint="revoke the API key in JFrog (Edit profile) and move to access tokens",
        examples=(
            "ARTIFACTORY_API_KEY=AKCpxJWNQ9sCIkbeNcoA0ZCpyKoa1wqC3M4n1lbcMnb7NnYxqcUs5QD0mciRbzb9OWDo4Nqvm",
            "curl -H 'X-JFrog-Art-Api: AKCpGnihfLSBxvlSeFdduS6EG50PNMSQuSGolxbnEtBHSEIMC0S9OtCPigRDvfZ7ZVhLz6Kug' https://jfrog.internal/artifactory/api/repositories",
        ),
        counterexamples=("ARTIFACTORY_API_KEY=AKCpAlFdLuIRWo26LrntBgjYaxvbhswHHT", "ARTIFACTORY_API_KEY=AKCp<api-key>"),
    ),
    Rule(
        id="jfrog-reference-token",
        description="JFrog reference (access) token",
        regex=r"\b(cmVmdGtu[A-Za-z0-9]{56})\b",
        keywords=("cmvmdgtu",),
        entropy=3.5,
        secret_type="Artifactory Credentials",
        hint="revoke the token in JFrog (Administration > User management > Access tokens)",
        examples=(
            "JFROG_ACCESS_TOKEN=cmVmdGtuy7HmJHNU37Q04LsybszsNij9P4L82jna7nAYk9MhM1F8jb62iWsyvM54",
            "Authorization: Bearer cmVmdGtuDQggiVsU1AJoF0QhhL3EWg6I3gWBEy2nfmmgvvJStOOkb7EYQnnYXXXf",
        ),
        counterexamples=("JFROG_ACCESS_TOKEN=cmVmdGtuIxDpvzQnSUxorP4D4bPn", "JFROG_ACCESS_TOKEN=cmVmdGtu"),
    ),
    Rule(
        id="snyk-api-token",
        description="Snyk API token",
        regex=_near(r"snyk", _UUID),
        keywords=("snyk",),
        secret_group=1,
        entropy=3.0,
        hint="revoke the token in Snyk (Account settings > Auth token)",
        examples=(
            "SNYK_TOKEN=a4335e69-0631-4bb3-b3cc-5857b1aa89ea",
            'SNYK_API_TOKEN: "cc09bed0-b729-4bb1-89de-f40bafe3432a"',
        ),
        counterexamples=("SNYK_TOKEN=${{ secrets.SNYK_TOKEN }}", "SNYK_ORG=my-org"),
    ),
    Rule(
        id="postman-api-key",
        description="Postman API key",
        regex=r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b",
        keywords=("pmak-",),
        entropy=3.0,
        hint="revoke the key in Postman (Settings > API keys)",
        examples=(
            "POSTMAN_API_KEY=PMAK-a18ee79f90d6aac849f17365-e0636d77a4013e5d9ee42fca6f063e9dd3",
            "x-api-key: PMAK-5db275d29d066584c57e8907-167dd07f878ba572777972737e0a95c948",
        ),
        counterexamples=("POSTMAN_API_KEY=PMAK-4f4570a28ce4679fc44dff2d", "POSTMAN_API_KEY=PMAK-<key>"),
    ),
    Rule(
        id="postman-collection-token",
        description="Postman collection access token",
        regex=r"\b(PMAT-[A-Z0-9]{26})\b",
        keywords=("pmat-",),
        entropy=3.5,
        hint="revoke the collection access token in Postman",
        examples=(
            "https://api.getpostman.com/collections/123?access_key=PMAT-YSR1O012HZD2K4P3RIUEV86WQR",
            'access_key: "PMAT-CVJN1F97YN6Y47ACNZQHQ043QW"',
        ),
        counterexamples=("access_key=PMAT-VOZZ4VBAA1", "access_key=PMAT-XXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ),
    Rule(
        id="packagist-token",
        description="Private Packagist authentication token",
        regex=r"\b(packagist_[a-z]{3}_[a-f0-9]{68})\b",
        keywords=("packagist_",),
        entropy=3.0,
        hint="revoke the token in Private Packagist (Settings > Authentication tokens)",
        examples=(
            "composer config --global --auth http-basic.repo.packagist.com token packagist_ort_95440e398f6ac3fee50769df7d936d228834fc2782bce4f2112b8add4220d4fb6064",
            '"password": "packagist_uut_e3fa899f967f4f2c901f5cc16104c26eae5b486635f929aad3fda5cf08d412851182"',
        ),
        counterexamples=(
            "token = packagist_ort_9d78ed44998cab348f07148efd769381fd4d2c06",
            "token = packagist_ort_<token>",
        ),
    ),
    Rule(
        id="clojars-token",
        description="Clojars deploy token",
        regex=r"\b(CLOJARS_[a-f0-9]{60})\b",
        keywords=("clojars_",),
        entropy=3.0,
        hint="disable the deploy token on clojars.org (Dashboard > Deploy tokens)",
        examples=(
            "CLOJARS_PASSWORD=CLOJARS_8469a532c9c5593f68005c91becc8ff4bc6f6b5b9697baa5b734f88075e9",
            ':password "CLOJARS_4296d7f4591022f2bf137eb6f2d9dd3e9153a828ba17d96e755e35e574aa"',
        ),
        counterexamples=("CLOJARS_PASSWORD=CLOJARS_b02872dfb8f4222434d7321852c8db", "CLOJARS_PASSWORD=CLOJARS_<token>"),
    ),
    Rule(
        id="crates-io-token",
        description="crates.io API token",
        regex=r"\b(cio[A-Za-z0-9]{32})\b",
        keywords=("cio",),
        entropy=3.5,
        hint="revoke the token on crates.io (Account settings > API tokens); prefer trusted publishing",
        examples=(
            'token = "cioobGXwvtPgzy5QGBcri9mqyDZVqLW2jyU"',
            "CARGO_REGISTRY_TOKEN=cioRSoFufu8TbZ3AKVM14cJXlTC4CyqyKSy",
        ),
        counterexamples=("CARGO_REGISTRY_TOKEN=cio3Bj48ZKczsOUNilSakqy", "name = ciovaccaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ),
    Rule(
        id="hex-api-key",
        description="Hex.pm API key",
        regex=_near(r"hex[_.\-]?(?:api[_.\-]?key|key|token)", r"[a-f0-9]{32}"),
        keywords=("hex_", "hex-", "hexapi", "hexkey"),
        secret_group=1,
        entropy=3.0,
        hint="revoke the key (mix hex.user key revoke) or on hex.pm (Dashboard > Keys)",
        examples=("HEX_API_KEY=4574856c8d93b70ec5c16761018bd2a8", 'hex_key: "d8ab07dd8ff0e7c8376dea058c68de46"'),
        counterexamples=("HEX_API_KEY=${HEX_API_KEY}", "HEX_API_KEY=7fbda2893a2f5e40"),
    ),
    Rule(
        id="gradle-plugin-portal-key",
        description="Gradle Plugin Portal publishing key or secret",
        regex=_near(r"gradle[_.\-]publish[_.\-](?:key|secret)", r"[A-Za-z0-9]{32}"),
        keywords=("gradle.publish", "gradle_publish"),
        secret_group=1,
        entropy=3.5,
        hint="regenerate the API keys on plugins.gradle.org (API Keys)",
        examples=(
            "gradle.publish.key=7Z19aYd5Hj3wrmBmoygnPWfE1haKw3gS",
            "GRADLE_PUBLISH_SECRET=6fHxHpFfhz162ykHenyQ0bkUzJ8AXaaq",
        ),
        counterexamples=("gradle.publish.key=${GRADLE_KEY}", "gradle.publish.key=EcPBdkSA9JR0ukMK"),
    ),
)
