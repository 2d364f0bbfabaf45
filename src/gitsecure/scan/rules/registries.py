"""Package and container registries (npm, PyPI, RubyGems, NuGet, Docker Hub, JFrog...) and developer tools.

npm's ``npm_`` tokens end with six base62 characters of a CRC32 of the random
part, so that rule names a validator: a token-shaped string with a wrong
checksum (a hand-typed fake, a truncated copy) is not reported.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_TEXT, UUID_LOWER, near

RULES: tuple[Rule, ...] = (
    # --- Package registries ---------------------------------------------------------------
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
        regex=r"(?i)_authToken[ \t]{0,5}=[ \t]{0,5}[\"']?(" + UUID_LOWER + r")",
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
        regex=r"(?i)(?:(?m:^)|[ \t:])_(?:auth|password)[ \t]{0,5}=[ \t]{0,5}[\"']?(?-i:([A-Za-z0-9+/]{12,512}={0,2}))(?:[\"'\s]|$)",
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
        regex=r"\b(dckr_pat_[A-Za-z0-9_\-]{27,40})" + END_TEXT,
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
        regex=r"\b(dckr_oat_[A-Za-z0-9_\-]{27,40})" + END_TEXT,
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
        regex=near(r"hex[_.\-]?(?:api[_.\-]?key|key|token)", r"[a-f0-9]{32}"),
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
        regex=near(r"gradle[_.\-]publish[_.\-](?:key|secret)", r"[A-Za-z0-9]{32}"),
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
    # --- Developer tools ------------------------------------------------------------------
    Rule(
        id="snyk-api-token",
        description="Snyk API token",
        regex=near(r"snyk", UUID_LOWER),
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
)
