"""CI/CD and code-quality services: CircleCI, Travis CI, Buildkite, Azure DevOps, Jenkins, SonarQube...

Most of these tokens have no documented prefix (CircleCI, Travis, Jenkins,
Codecov), so they match only as the value assigned to a name that says which
service it is.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_TEXT, UUID_LOWER, near

RULES: tuple[Rule, ...] = (
    # --- CI/CD ----------------------------------------------------------------------------
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
        regex=near(r"circle(?:ci)?[\w.\-]{0,20}?token", r"[a-f0-9]{40}"),
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
        regex=near(r"travis[\w.\-]{0,20}?(?:token|api[_.\-]?key)", r"[A-Za-z0-9_\-]{22}"),
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
        regex=near(
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
        regex=near(r"jenkins[\w.\-]{0,20}?(?:token|api[_.\-]?key|password)", r"11[a-f0-9]{32}"),
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
        regex=near(r"sonar[\w.\-]{0,20}?(?:token|login)", r"[a-f0-9]{40}"),
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
        regex=near(r"codecov[\w.\-]{0,20}?token", UUID_LOWER),
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
        regex=r"\b(eyJ0eXAiOiAiVENWMiJ9\.[A-Za-z0-9_\-]{30,100}\.[A-Za-z0-9_\-]{30,100})" + END_TEXT,
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
        regex=near(r"drone[_.\-]?token", r"[A-Za-z0-9]{32}"),
        keywords=("drone_token", "drone-token", "dronetoken", "drone.token"),
        secret_group=1,
        entropy=3.5,
        hint="rotate the token in Drone (User settings)",
        examples=("DRONE_TOKEN=do63d7YUk8O1C3vJE0JugcpJJwbveIlg", 'drone_token: "7RItrgnSgMStR3rAaiFDgBOqgoBZDSI8"'),
        counterexamples=("DRONE_TOKEN=${DRONE_TOKEN}", "DRONE_TOKEN=Tz3PF6E8AiMkIEcv"),
    ),
    # --- Code search ----------------------------------------------------------------------
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
)
