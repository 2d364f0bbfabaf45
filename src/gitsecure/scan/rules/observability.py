"""Observability APIs: Datadog, New Relic, Sentry, PagerDuty, Grafana, Honeycomb, Splunk, Rollbar...

Prefixed tokens (``NRAK-``, ``glsa_``, ``sntrys_``...) match anywhere; formats
without a prefix (Datadog's 32 hex digits, Rollbar's) match only where the
provider's name and a key-like word are assigned the value, which is how they
appear in ``.env`` files, Helm values and code.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_LINE, UUID, assigned

RULES: tuple[Rule, ...] = (
    Rule(
        id="datadog-api-key",
        description="Datadog API key",
        regex=assigned(r"(?:datadog|\bdd)", r"api[_.\-]?key", r"[0-9a-f]{32}") + r"\b",
        keywords=("datadog", "dd_api", "dd-api", "ddapi"),
        entropy=3.0,
        hint="Revoke the key in Datadog (Organization Settings > API Keys) and create a new one.",
        examples=(
            "DD_API_KEY=e097d80397235d25f4b349484b25637f",
            'datadogApiKey: "40d6953f9631c22b2acd8587c6fd286f"',
            '  -H "DD-API-KEY: 6866522d0dac158f743d0965066e0901" \\',
        ),
        counterexamples=(
            "DD_API_KEY=05661f5263a6058bf933",
            "DD_API_KEY={{ .Values.datadog.apiKey }}",
            "ADD_API_KEY=f180ad14c10324ce91ef1df6bb237482",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="datadog-app-key",
        description="Datadog application key",
        regex=assigned(r"(?:datadog|\bdd)", r"app(?:lication)?[_.\-]?key", r"[0-9a-f]{40}") + r"\b",
        keywords=("datadog", "dd_app", "dd-app", "ddapp"),
        entropy=3.0,
        hint="Revoke the application key in Datadog (Organization Settings > Application Keys).",
        examples=(
            "DD_APP_KEY=f380074201d24141e23be6055d334a803772aa52",
            "datadog_application_key = 'dee9e336d5f9b1ac8f87c6a0f5d2ae3f86024289'",
        ),
        counterexamples=(
            "DD_APP_KEY=48809e5cf381fcd035cdfdd6ac6fafec",
            "DD_APP_KEY=<your-application-key>",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="newrelic-user-api-key",
        description="New Relic user API key",
        regex=r"\b(NRAK-[A-Z0-9]{27})\b",
        keywords=("nrak-",),
        entropy=3.5,
        hint="Delete the key in New Relic (API keys UI) and create a new one.",
        examples=(
            "NEW_RELIC_API_KEY=NRAK-653J45J89YZ1VXZMQ49NKVKF2VH",
            "headers = {'Api-Key': 'NRAK-3KGX2K4Y814PHGQMCLCUOTJO7NT'}",
        ),
        counterexamples=(
            "NEW_RELIC_API_KEY=NRAK-YNZHNM7FMC",
            "NEW_RELIC_API_KEY=NRAK-XXXXXXXXXXXXXXXXXXXXXXXXXXX",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="newrelic-insert-key",
        description="New Relic insert (ingest) key",
        regex=r"\b(NRII-[A-Za-z0-9_\-]{32})" + END_LINE,
        keywords=("nrii-",),
        entropy=3.5,
        hint="Delete the insert key in New Relic (API keys UI) and create a new one.",
        examples=(
            "NEW_RELIC_INSERT_KEY=NRII-j0gyKAzuNC4qlfkWn2CGHnXoDpHR4Zjs",
            "  insertKey: 'NRII-LDkGAkWCdD09eo4sK15y9Iy2FUdGaMj4'",
        ),
        counterexamples=(
            "NEW_RELIC_INSERT_KEY=NRII-H6v5kZyXyYZ9",
            "NEW_RELIC_INSERT_KEY=NRII-...",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="newrelic-browser-key",
        description="New Relic browser ingest key",
        regex=r"\b(NRJS-[a-f0-9]{19})\b",
        keywords=("nrjs-",),
        entropy=3.0,
        hint="Browser keys ship in page source by design; rotate it in New Relic if the app should not accept foreign data.",
        examples=(
            "NEW_RELIC_BROWSER_KEY=NRJS-3c5257cc3beaaf5b03b",
            'licenseKey: "NRJS-a15bc987f63d2047d2d",',
        ),
        counterexamples=(
            "NEW_RELIC_BROWSER_KEY=NRJS-033494bd32",
            "NEW_RELIC_BROWSER_KEY=NRJS-0000000000000000000",
        ),
        tags=("saas", "observability", "low-risk"),
    ),
    Rule(
        id="newrelic-license-key",
        description="New Relic ingest license key",
        regex=r"\b([0-9a-f]{36}NRAL)\b",
        keywords=("nral",),
        entropy=3.0,
        hint="Create a new license key in New Relic (API keys UI), roll it out to agents, then delete the old one.",
        examples=(
            "NEW_RELIC_LICENSE_KEY=eb37054f306cf035df0e7bce0a7e39ce880cNRAL",
            "license_key: '759abceb9248d1ace2378bae19b78a83443fNRAL'",
        ),
        counterexamples=(
            "NEW_RELIC_LICENSE_KEY=9fd3a64f84eb043772baNRAL",
            "NEW_RELIC_LICENSE_KEY=4133f1f48c2b59f43cffa6d341cab47823e40751",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="sentry-dsn-secret",
        description="Sentry DSN with a secret key (legacy format)",
        regex=r"\bhttps?://[0-9a-f]{32}:([0-9a-f]{32})@[A-Za-z0-9.\-]{1,100}(?::[0-9]{1,5})?/[0-9]{1,10}\b",
        keywords=("sentry",),
        entropy=3.0,
        hint="Revoke the client key in Sentry (Project Settings > Client Keys) and use a DSN without the secret part.",
        examples=(
            "SENTRY_DSN=https://aa8361c59f1ed8a3bc760a4ebbcb2ee7:cc53d7ab2552bd2e04166f8855951215@o051290.ingest.sentry.io/9458212",
            "dsn: 'https://f75eb813a78e6a32ffcb0ebd0c6ad565:53b2f62fcdd0544e74909fbf6f882023@sentry.internal.example.com/3'",
        ),
        counterexamples=(
            "SENTRY_DSN=https://062fb042ce882a3f5ed297cd681ef705@o368392.ingest.sentry.io/8407423",
            "SENTRY_DSN=https://public:secret@sentry.example.com/1",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="sentry-org-token",
        description="Sentry organization auth token",
        regex=r"\b(sntrys_eyJ[A-Za-z0-9+/=_\-]{80,400})",
        keywords=("sntrys_",),
        entropy=3.5,
        hint="Revoke the token in Sentry (Settings > Developer Settings > Organization Tokens).",
        examples=(
            "SENTRY_AUTH_TOKEN=sntrys_eyJIdrxslS2cHscZb1fBX7CR0Em3jHHPO3f1jUbElx7IxE2YIf9fpkNKgqO5rRYzCxqVgopFD6z1IDyEvACVUl2KhurmVs2P3FWYctYo2mA5HGoo8CfeogW6OZ0_TYeLGOCuE36n0YyMRvm9nAHiHvzQV6CnWYf1cNvJCJw",
            "  authToken: 'sntrys_eyJu8oog5Fi3ciQxrXZUAqfuACEXzR8KL1GwG3Jm5flwXs0ZfkDIjTuQGrnTpvEnVXW4j346pyZPv4wHX9YMIs2b6ZHtl7HWcR4KWWBcOznCOrOZBHBehzHqdGLhraEQEOrjlcd6yE46EhU'",
        ),
        counterexamples=(
            "SENTRY_AUTH_TOKEN=sntrys_eyJh8rbyG0rHOQIhHaYMBfV",
            "SENTRY_AUTH_TOKEN=sntrys_...",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="sentry-user-token",
        description="Sentry user auth token",
        regex=r"\b(sntryu_[a-f0-9]{64})\b",
        keywords=("sntryu_",),
        entropy=3.0,
        hint="Revoke the token in Sentry (User Settings > Personal Tokens).",
        examples=(
            "SENTRY_AUTH_TOKEN=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",
            "sentry-cli --auth-token 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 releases list",
        ),
        counterexamples=(
            "SENTRY_AUTH_TOKEN=sntryu_b6f48cca7d60c44f3d1049e00dc75a",
            "SENTRY_AUTH_TOKEN=sntryu_${TOKEN}",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="pagerduty-api-key",
        description="PagerDuty REST API key or Events routing key",
        regex=assigned(
            r"(?:pagerduty|\bpd)",
            r"(?:api[_.\-]?|rest[_.\-]?|routing[_.\-]?|integration[_.\-]?|service[_.\-]?)?(?:key|token)",
            r"[a-z0-9]{32}|[A-Za-z0-9_+\-]{20}",
        )
        + END_LINE,
        keywords=("pagerduty", "pd_api", "pd_routing", "pd_token", "pd_integration", "pd_service"),
        entropy=3.5,
        hint="Delete the key in PagerDuty (Integrations > API Access Keys, or the service's integration).",
        examples=(
            "PAGERDUTY_API_KEY=u+kbgLOj2sWPD4OmFHhw",
            "pagerduty_routing_key: 'zx3167lc9faeswc967yo32a4bsefduqj'",
        ),
        counterexamples=(
            "PAGERDUTY_API_KEY=smkG2RYVB4",
            "PAGERDUTY_SERVICE_ID=P7W5165",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="grafana-cloud-token",
        description="Grafana Cloud access policy token or API key",
        regex=r"\b(glc_[A-Za-z0-9+/]{32,400}={0,2})",
        keywords=("glc_",),
        entropy=3.5,
        hint="Delete the token in Grafana Cloud (Administration > Cloud access policies) and create a new one.",
        examples=(
            "GRAFANA_CLOUD_TOKEN=glc_eyJElcWVKjmLrPA0Giv073cJU0a5Y/dSO0RYb+7sNZmtfBTRmqwc8tz2i67O7qD9nKQElxsL3DWktc7HX4EjSTk5OzTZVo5aNffLiC77Ac2tjw0MZQlOzv4NDMu==",
            "  password: glc_N0freIlVaIX1DN9qFhZmQGyF2GW5jOxHz9oIvvosxglOhWKeeY1jH8RUsMksfbKH22ID18HVrIm4HLA1",
        ),
        counterexamples=(
            "GRAFANA_CLOUD_TOKEN=glc_WpXpEKljQ0wv",
            "GRAFANA_CLOUD_TOKEN=glc_...",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="grafana-service-account-token",
        description="Grafana service account token",
        regex=r"\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})\b",
        keywords=("glsa_",),
        entropy=3.5,
        hint="Delete the token in Grafana (Administration > Users and access > Service accounts).",
        examples=(
            "GRAFANA_TOKEN=glsa_2Lk858ktrsB66vjjsa4iZsb5EseHOl1k_7512d64b",
            'provider "grafana" { auth = "glsa_4E4AGYlzrs9fS6y0HylRmyzgxIw0Oio8_a2be69f6" }',
        ),
        counterexamples=(
            "GRAFANA_TOKEN=glsa_xxxxxxxxxxxx",
            "GRAFANA_TOKEN=glsa_yiqgd0fhGI3T9VagYUp5_818dfc29",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="honeycomb-ingest-key",
        description="Honeycomb ingest key",
        regex=r"\b(hc[a-z]ik_[a-z0-9]{58})\b",
        keywords=tuple(f"hc{letter}ik_" for letter in "abcdefghijklmnopqrstuvwxyz"),
        entropy=3.5,
        hint="Disable and delete the ingest key in Honeycomb (Environment settings > API Keys).",
        examples=(
            "HONEYCOMB_API_KEY=hcaik_kilr03z5nmx954l7n6u90el67hdsxlxe742fivhrzpk1zlytn61wf9jnjx",
            "OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=hcxik_hsgmuo68noeil6ifzjr20q2j3jldks3vd9sazc9cygx3fvtqejf6o8iy14",
        ),
        counterexamples=(
            "HONEYCOMB_API_KEY=hcaik_ci7p0hyko52ocviol8soxc2cny",
            "HONEYCOMB_API_KEY=hcaik_...",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="honeycomb-api-key",
        description="Honeycomb configuration or classic API key",
        regex=assigned(
            "honeycomb",
            r"(?:(?:api|write|ingest|config(?:uration)?)[_.\-]?key|key|team)",
            r"[0-9a-f]{32}|[A-Za-z0-9]{22}",
        )
        + r"\b",
        keywords=("honeycomb",),
        entropy=3.5,
        hint="Delete the key in Honeycomb (Environment or Team settings > API Keys) and create a new one.",
        examples=(
            "HONEYCOMB_API_KEY=2khGbV0LC6tE8BRe4kv5bi",
            "x-honeycomb-team: 6362ccb981d61ad4d6d46c53fc39001d",
        ),
        counterexamples=(
            "HONEYCOMB_API_KEY=xP0rnDoVdJ",
            "HONEYCOMB_DATASET=my-service",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="dynatrace-api-token",
        description="Dynatrace API or platform token",
        regex=r"\b(dt0[cs]0[0-9]\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b",
        keywords=("dt0c0", "dt0s0"),
        entropy=3.5,
        hint="Revoke the token in Dynatrace (Access tokens) and generate a new one with the scopes it needs.",
        examples=(
            "DT_API_TOKEN=dt0c01.G5BDBFMJ1JQ2LOU7HWHWQA3E.HUQ7LXIINHRSBBSD6UMVNPE5OOA9UKSA6XUOL2B69W6AOF84VOZTRW7ANRDHMLVY",
            "  apiToken: 'dt0s01.WE6A2XUXH4O83VSW18A6KOHU.QB1M44HIDS9QSSPSHWMA14CL2DMZOAQBCWA22CY7EW6QELD60EDWY73G5ZHH247S'",
        ),
        counterexamples=(
            "DT_API_TOKEN=dt0c01.LSVWH8FACZSREEKVZZZFTJAA.KTPECV923UZDO04KCPZM",
            "DT_API_TOKEN=dt0c01.ABC",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="splunk-hec-token",
        description="Splunk HTTP Event Collector token",
        regex=r"(?:" + assigned("splunk", r"(?:hec[_.\-]?)?token", UUID) + r"|\bSplunk\s+(" + UUID + r"))\b",
        keywords=("splunk",),
        entropy=3.0,
        hint="Disable and delete the HEC token in Splunk (Settings > Data inputs > HTTP Event Collector).",
        examples=(
            "SPLUNK_HEC_TOKEN=1572719e-ee35-7570-ca20-ce53d04dbabf",
            "curl -H 'Authorization: Splunk e4bde618-fcbc-dabe-c8ea-be229bb4c4ea' https://hec.example.com:8088",
        ),
        counterexamples=(
            "SPLUNK_INDEX=main",
            "SPLUNK_HEC_TOKEN=00000000-0000-0000-0000-000000000000",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="rollbar-access-token",
        description="Rollbar access token",
        regex=assigned(
            "rollbar",
            r"(?:access[_.\-]?|server[_.\-]?|post[_.\-]?|read[_.\-]?|write[_.\-]?)?(?:token|key)",
            r"[0-9a-f]{32}",
        )
        + r"\b",
        keywords=("rollbar",),
        entropy=3.0,
        hint="Disable the token in Rollbar (Project Settings > Project Access Tokens) and create a new one.",
        examples=(
            "ROLLBAR_ACCESS_TOKEN=60bf670ff5b020f40a8ec65edbac65dd",
            "rollbar_post_server_item_token = '0a29de0cd4284050e6c10fa6e083bc22'",
        ),
        counterexamples=(
            "ROLLBAR_ACCESS_TOKEN=f649c0205dca9d0f",
            "ROLLBAR_ENVIRONMENT=production",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="bugsnag-api-key",
        description="Bugsnag (Insight Hub) API key",
        regex=assigned("bugsnag", r"(?:api[_.\-]?|notifier[_.\-]?|auth[_.\-]?)?(?:key|token)", r"[0-9a-f]{32}") + r"\b",
        keywords=("bugsnag",),
        entropy=3.0,
        hint="Regenerate the project's notifier API key in Bugsnag (Project settings).",
        examples=(
            "BUGSNAG_API_KEY=281d0593fa2315653c4e8a89e1bc94ee",
            'bugsnagApiKey: "985d1813b234106a69c2e0b2d5854e0d"',
        ),
        counterexamples=(
            "BUGSNAG_API_KEY=a6dbe1f696eb",
            "BUGSNAG_RELEASE_STAGE=production",
        ),
        tags=("saas", "observability"),
    ),
    Rule(
        id="logzio-token",
        description="Logz.io shipping or API token",
        regex=assigned(
            r"logz[_.\-]?(?:io)?",
            r"(?:shipping[_.\-]?|api[_.\-]?|metrics[_.\-]?|logs[_.\-]?)?token",
            r"[A-Za-z]{32}|" + UUID,
        )
        + r"\b",
        keywords=("logz",),
        entropy=3.5,
        hint="Delete the token in Logz.io (Settings > Manage tokens) and create a new one.",
        examples=(
            "LOGZIO_SHIPPING_TOKEN=nXQCDIVskdGQghxoMchdBMLaPyBDsoae",
            "logz_io_api_token: 'bef20435-184b-c1ee-b2be-ef0ee0475d18'",
        ),
        counterexamples=(
            "LOGZIO_SHIPPING_TOKEN=rXBDnGgmllMV",
            "LOGZIO_LISTENER=listener.logz.io",
        ),
        tags=("saas", "observability"),
    ),
)
