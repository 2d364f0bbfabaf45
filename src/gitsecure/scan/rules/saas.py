"""SaaS APIs: observability, productivity, developer platforms, shipping and more.

Prefixed tokens (``NRAK-``, ``glsa_``, ``lin_api_``...) match anywhere; formats
without a prefix (Datadog's 32 hex digits, Rollbar's, Okta's) match only where
the provider's name and a key-like word are assigned the value, which is how
they appear in ``.env`` files, Helm values and code.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule

_ASSIGN = r"[\w.\-]{0,8})[\s'\"]{0,3}(?:=>|:=|[:=])[\s'\"]{0,5}"
# End of a token whose alphabet includes ``-``: ``\b`` cannot tell ``abc-`` from ``abc-def``.
_END = r"(?:[^\w\-]|(?m:$))"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _assigned(provider: str, key: str, value: str) -> str:
    """``provider`` then ``key`` in one identifier (case-insensitive), an assignment, then ``(value)``."""
    return rf"(?i:{provider}[\w.\-]{{0,30}}?{key}{_ASSIGN}({value})"


_OBSERVABILITY: tuple[Rule, ...] = (
    Rule(
        id="datadog-api-key",
        description="Datadog API key",
        regex=_assigned(r"(?:datadog|\bdd)", r"api[_.\-]?key", r"[0-9a-f]{32}") + r"\b",
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
        regex=_assigned(r"(?:datadog|\bdd)", r"app(?:lication)?[_.\-]?key", r"[0-9a-f]{40}") + r"\b",
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
        regex=r"\b(NRII-[A-Za-z0-9_\-]{32})" + _END,
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
        regex=_assigned(
            r"(?:pagerduty|\bpd)",
            r"(?:api[_.\-]?|rest[_.\-]?|routing[_.\-]?|integration[_.\-]?|service[_.\-]?)?(?:key|token)",
            r"[a-z0-9]{32}|[A-Za-z0-9_+\-]{20}",
        )
        + _END,
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
        regex=_assigned(
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
        regex=r"(?:" + _assigned("splunk", r"(?:hec[_.\-]?)?token", _UUID) + r"|\bSplunk\s+(" + _UUID + r"))\b",
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
        regex=_assigned(
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
        regex=_assigned("bugsnag", r"(?:api[_.\-]?|notifier[_.\-]?|auth[_.\-]?)?(?:key|token)", r"[0-9a-f]{32}")
        + r"\b",
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
        regex=_assigned(
            r"logz[_.\-]?(?:io)?",
            r"(?:shipping[_.\-]?|api[_.\-]?|metrics[_.\-]?|logs[_.\-]?)?token",
            r"[A-Za-z]{32}|" + _UUID,
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

_PRODUCTIVITY: tuple[Rule, ...] = (
    Rule(
        id="atlassian-api-token",
        description="Atlassian (Jira, Confluence, Bitbucket) API token",
        regex=r"\b(ATATT3[A-Za-z0-9_\-]{150,250}=[A-F0-9]{8})\b",
        keywords=("atatt3",),
        entropy=3.5,
        hint="Revoke the token at id.atlassian.com (Security > API tokens) and create a new one.",
        examples=(
            "JIRA_API_TOKEN=ATATT3xFfGF0hwbZkIPvByuT6BsubXtEMYkMpaOi04P4fSfubJwoAQZaWdJQmtCKmKY77Hsu4pC-T2opJzhKjz_7906goADxkhYnLk7IrSl6xZ2Oxu4uuIDxoDMLmB09dn0zgBgjKBA3AWxwVaHjn8E06KfCNNgBkaA7athf31x0a0tEBscbzt=1DBC8FBA",
            'confluence_token: "ATATT3xFfGF0jwtPhSLlp2hweDjKrrixq3Ay5LkRVJhnb2iHHQSB5caU2tjShnakByeRiQZm2ZY0sXyrif7Fc5J0XniKLkRGBIp8YlWqt70y3akdHWRHW2goFHArl1zh4gbUkBo1HZnhD93RgIgL24IXPu2IvE2qFZ6Ersp9ixqX63KbyFYGM5Hb=A7A1CBC1"',
        ),
        counterexamples=(
            "JIRA_API_TOKEN=ATATT3xFfGF03N2UT1Jh217o9X5JC8yIfU2hqpBfA0",
            "JIRA_API_TOKEN=ATATT3...",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="linear-api-key",
        description="Linear personal API key",
        regex=r"\b(lin_api_[A-Za-z0-9]{40})\b",
        keywords=("lin_api_",),
        entropy=3.5,
        hint="Revoke the key in Linear (Settings > Account > Security & access > API keys).",
        examples=(
            "LINEAR_API_KEY=lin_api_Pxn5bgXCGkYuuEawX0UD8g2uT300soFhK6y398rJ",
            "client = LinearClient({ apiKey: 'lin_api_gjtldpS6sud801oJ0UglRHG51gjejplnf1za4Npv' })",
        ),
        counterexamples=(
            "LINEAR_API_KEY=lin_api_9wn9B8rrQIEj72yJ3r54",
            "LINEAR_API_KEY=lin_api_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="notion-integration-token",
        description="Notion integration token",
        regex=r"\b(ntn_[A-Za-z0-9]{40,50})\b",
        keywords=("ntn_",),
        entropy=3.5,
        hint="Refresh the integration's secret in Notion (Settings > Connections > Develop or manage integrations).",
        examples=(
            "NOTION_TOKEN=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",
            "notion = Client(auth='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')",
        ),
        counterexamples=(
            "NOTION_TOKEN=ntn_your_internal_integration_token_here",
            "NOTION_TOKEN=ntn_aC1wbKLiawrQKgrwkrI6",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="notion-legacy-token",
        description="Notion integration token (legacy secret_ format)",
        regex=r"(?i:notion).{0,60}?\b(secret_[A-Za-z0-9]{43})\b",
        keywords=("notion",),
        entropy=3.5,
        hint="Refresh the integration's secret in Notion (Settings > Connections > Develop or manage integrations).",
        examples=(
            "NOTION_API_KEY=secret_hbUBcOXb3s1aVwQzZAitdjyC9ih6TfZsEqJbCXDORd5",
            "const notion = new Client({ auth: 'secret_dJz9NvDKh4nLjBlyDNQNkJxzjI95TKYXZcS1loeXGAw' });",
        ),
        counterexamples=(
            "NOTION_API_KEY=secret_MVlg63fuBT5xd8V9Qr4g",
            "CLIENT_SECRET=secret_wLEL8x8EAzEuNXyRFvj9MopDhcYL0bahwHmL3YjJ0uw",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="airtable-pat",
        description="Airtable personal access token",
        regex=r"\b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b",
        keywords=("pat",),
        entropy=3.5,
        hint="Regenerate or delete the token at airtable.com/create/tokens.",
        examples=(
            "AIRTABLE_TOKEN=pat3dF7l2YJgUxarD.52d5fbe4689b3749ca1b531792016996f1edcf0fa1a0dd1a33b812cc438476dc",
            "api = Api('pattzJES9s7O1bKxc.46c69a5b5ead77a2d013ea2fbdc63baed3278cb91c3292911143feafbaf932ab')",
        ),
        counterexamples=(
            "AIRTABLE_TOKEN=patERQqh1GOfrVUN1.0d3994c26b837608a6ff",
            "AIRTABLE_BASE_ID=apppkIsLo3cE6EIM2",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="asana-pat",
        description="Asana personal access token",
        regex=r"\b([0-9]/[0-9]{10,20}(?:/[0-9]{10,20})?:[a-f0-9]{32})\b",
        keywords=("asana",),
        entropy=3.0,
        hint="Deauthorize the token in Asana (My settings > Apps > Developer console).",
        examples=(
            "ASANA_ACCESS_TOKEN=1/7826800739184314:0cc01ede4cac2b0409c0f8d9a2c2186e",
            "asana_token: '2/8809148527148526/1934627576420613:d46eda1b42efb3d5967f5d2810fd2d57'",
        ),
        counterexamples=(
            "ASANA_ACCESS_TOKEN=1/4505566207374077:3eb11eb4f0",
            "ASANA_WORKSPACE=9857520538359732",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="dropbox-access-token",
        description="Dropbox short-lived access token",
        regex=r"\b(sl\.(?:u\.)?[A-Za-z0-9_\-]{130,1000})",
        keywords=("sl.",),
        entropy=3.5,
        hint="Revoke the token (/2/auth/token/revoke) or the app's access in the Dropbox App Console.",
        examples=(
            "DROPBOX_ACCESS_TOKEN=sl.2ABsmVf1jDAX0kgpjfnxaL2Z3kH3HW6aBNArRKqngyBvCKUy8z08pGxW4P2Hvh0cyXrgk0IC0mm6RmFCJoHl6bWwVOcHPFWE1itggmIFWb1-6by5_1R8jd_yxv2cUWoU5vYJ4zaqwi",
            "dbx = dropbox.Dropbox('sl.u.lKAd9tEfDRQohV1E7wVLNFRBIi3BBN0kuDSMyv7xPKphFdeOAfuw5qgAAuS2CLQIIT9jEvHPzgjpcFWrtfVWeyIk2MgFt3ZB0n34GlQ67KS61nyKSaTHB40KRayKTcnJuvHD3og2u1dtkCLnEG5VXro0svo2jvcYiUfqgAWjsvlwsSyn8jsM')",
        ),
        counterexamples=(
            "DROPBOX_ACCESS_TOKEN=sl.G3BsSC4ekJuWRZdP2AZcinllY4Q65PUOadgicxMw",
            "ssl.6ADmySCIGdN816k8H13jLluQCYghYA1lnBdxeXCFBrYxcc1H5ryN6OtjwflD1kLFqOePHeOHEUhKSWTiQB60dxJsp0zVZ6C4HaSqwIDhm8P6Tlo5snoq7JmnylckoGCCSDTxXLr7cnKJ",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="figma-pat",
        description="Figma personal access token",
        regex=r"\b(figd_[A-Za-z0-9_\-]{40,43})" + _END,
        keywords=("figd_",),
        entropy=3.5,
        hint="Revoke the token in Figma (Settings > Security > Personal access tokens).",
        examples=(
            "FIGMA_TOKEN=figd_SlWaGlZsR_fLMCgC9VVF61QXD0m9LQZiXWXSeXhd",
            "headers: { 'X-Figma-Token': 'figd_UJVkxiUq5YtQccM3nknVQ2Ng7UWdgkh8I56bWEccE81' }",
        ),
        counterexamples=(
            "FIGMA_TOKEN=figd_EzNWYQClgeM7",
            "FIGMA_TOKEN=figd_...",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="contentful-pat",
        description="Contentful personal access token",
        regex=r"\b(CFPAT-[A-Za-z0-9_\-]{43})" + _END,
        keywords=("cfpat-",),
        entropy=3.5,
        hint="Revoke the token in Contentful (Settings > CMA tokens).",
        examples=(
            "CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-Q6igFVtRN-UEwcr_V45-m9Qgh3FXjPUV6596pBPKesP",
            "accessToken: 'CFPAT-80t6sexqXEcdBGUewhh262H8ohtnaeUAA7Mmy5gdye9',",
        ),
        counterexamples=(
            "CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-wJ68HN2yFGvxiStIpXuZ",
            "CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-xxxx",
        ),
        tags=("saas", "content"),
    ),
    Rule(
        id="algolia-admin-key",
        description="Algolia admin or write API key",
        regex=_assigned("algolia", r"(?:admin|write|secret|private)[_.\-]?(?:api[_.\-]?)?key", r"[0-9a-f]{32}") + r"\b",
        keywords=("algolia",),
        entropy=3.0,
        hint="Regenerate the admin key (or delete the write key) in the Algolia dashboard (Settings > API Keys).",
        examples=(
            "ALGOLIA_ADMIN_KEY=2039019716207fb0a3475b628370e7b3",
            'algoliaWriteApiKey: "bc8e9de7390e2cada16fa41505344f9f"',
        ),
        counterexamples=(
            "ALGOLIA_SEARCH_KEY=1fca5b958d018b244cd653c9bc3a5506",
            "ALGOLIA_ADMIN_KEY=ca2d04853651d4a6",
        ),
        tags=("saas",),
    ),
    Rule(
        id="mapbox-secret-token",
        description="Mapbox secret access token",
        regex=r"\b(sk\.eyJ[A-Za-z0-9_\-]{20,400}\.[A-Za-z0-9_\-]{20,100})" + _END,
        keywords=("sk.eyj",),
        entropy=3.5,
        hint="Delete the secret token in Mapbox (Account > Access tokens) and create a new one.",
        examples=(
            "MAPBOX_DOWNLOADS_TOKEN=sk.eyJ1A18wfoG9K1AT8mUMYjpgRpAbRQlzgIoHSD45oZLITYW6Pg1ia93SQf43561K.a4Qvy76EucDBwqAvGCxEEd",
            "mapbox_secret: 'sk.eyJ1Ko3IVBIBes5UYK0UMg2WV1C5zL7Z0D5ZOK1QejVfq8c6nCygXrzYINWV6ZR83vbrn9cRQL.83f4sA7icGHZVuYEbhRseT'",
        ),
        counterexamples=(
            "MAPBOX_TOKEN=pk.eyJ1s1kEXI5LHtauzLVeh5LiX1tuIVad0tAhXR1wqHOnLVUw1z4nkD8Khkpxgpua.S1SdkrcuypM7fvMGnNKrSE",
            "MAPBOX_DOWNLOADS_TOKEN=sk.eyJ...",
        ),
        tags=("saas",),
    ),
    Rule(
        id="twitch-client-secret",
        description="Twitch client secret or OAuth token",
        regex=_assigned(
            "twitch", r"(?:(?:client[_.\-]?)?secret|(?:access|oauth)[_.\-]?token)", r"(?:oauth:)?[a-z0-9]{30}"
        )
        + r"\b",
        keywords=("twitch",),
        entropy=3.5,
        hint="Generate a new client secret in the Twitch Developer Console, and revoke OAuth tokens via id.twitch.tv/oauth2/revoke.",
        examples=(
            "TWITCH_CLIENT_SECRET=08dg87k670wkxni44jq0g8v2b9ylzh",
            "twitch_oauth_token: 'oauth:0t0ib1xwonb4lku5mt84vo6q37egh4'",
        ),
        counterexamples=(
            "TWITCH_CLIENT_ID=7jj82n20cpum4q36niegnkb8bzzi1q",
            "TWITCH_CLIENT_SECRET=eiw7hw8inltd",
        ),
        tags=("saas",),
    ),
    Rule(
        id="typeform-pat",
        description="Typeform personal access token",
        regex=r"\b(tfp_[A-Za-z0-9_\-]{40,64})" + _END,
        keywords=("tfp_",),
        entropy=3.5,
        hint="Delete the token in Typeform (Account > Your settings > Personal tokens).",
        examples=(
            "TYPEFORM_TOKEN=tfp_CpRmbeTFJhgFOGD4pP5n1EX2zhfNQPGwdYWX5I0r5Bv2_wnzI7bcBhx27VC",
            "headers = {'Authorization': 'Bearer tfp_eqeC7O92Wpmh-LmKw2S39NtTCh77t_DYosMZVmZ4Cdz-GoWu_B'}",
        ),
        counterexamples=(
            "TYPEFORM_TOKEN=tfp_cbxQ8acZLC45",
            "TYPEFORM_TOKEN=tfp_...",
        ),
        tags=("saas",),
    ),
    Rule(
        id="okta-api-token",
        description="Okta API token",
        regex=(
            r"(?:"
            + _assigned("okta", r"(?:api[_.\-]?|ssws[_.\-]?|access[_.\-]?)?token", r"00[A-Za-z0-9_\-]{40}")
            + r"|\bSSWS\s+(00[A-Za-z0-9_\-]{40}))"
            + _END
        ),
        keywords=("okta", "ssws"),
        entropy=3.5,
        hint="Revoke the token in the Okta Admin Console (Security > API > Tokens).",
        examples=(
            "OKTA_API_TOKEN=00ToKez93-ICqSrh2ZBS_rIy7QkAWT2lWQ4bmZjB-n",
            "Authorization: SSWS 00Wm56BRmSfwu4OQbXqeNFr6E4RbQrbllCMShyltsP",
        ),
        counterexamples=(
            "OKTA_API_TOKEN=00zJsdum1W45ON6O4raPnF",
            "OKTA_ORG_URL=https://dev-123456.okta.com",
        ),
        tags=("saas", "identity"),
    ),
    Rule(
        id="auth0-client-secret",
        description="Auth0 application client secret",
        regex=_assigned("auth0", r"client[_.\-]?secret", r"[A-Za-z0-9_\-]{64}") + _END,
        keywords=("auth0",),
        entropy=3.5,
        hint="Rotate the client secret in the Auth0 Dashboard (Applications > Settings > Rotate).",
        examples=(
            "AUTH0_CLIENT_SECRET=K8hVOj7Lt1lTT5VbivFdi59n9ntWUBoiFrx0T6V5P2QUwLZg8r30B_REVthCeblp",
            "auth0ClientSecret: 'zuuYFAgw4n5sYtCkQzHoqMEINl5FpEvtQ854oCbB2vLmBYiq7twpRWcdnzizMpIp'",
        ),
        counterexamples=(
            "AUTH0_CLIENT_ID=o1OyYoXFw77AqKh2pzzfyGVqDse7QDLo",
            "AUTH0_CLIENT_SECRET=8O1XyXvYK8I0oaZ265Kt",
        ),
        tags=("saas", "identity"),
    ),
    Rule(
        id="hubspot-pat",
        description="HubSpot private app access token",
        regex=r"\b(pat-(?:na|eu|ap)[0-9]-" + _UUID + r")\b",
        keywords=("pat-na", "pat-eu", "pat-ap"),
        entropy=3.0,
        hint="Rotate the private app's access token in HubSpot (Settings > Integrations > Private Apps).",
        examples=(
            "HUBSPOT_ACCESS_TOKEN=pat-na1-fe271583-c7a8-57d4-afb7-e985043f81fe",
            "client = hubspot.Client.create(access_token='pat-eu1-2b8334dc-6103-09e0-04bf-524665a08641')",
        ),
        counterexamples=(
            "HUBSPOT_ACCESS_TOKEN=pat-na1-xxxxxxxx",
            "HUBSPOT_ACCESS_TOKEN=pat-na1-00000000-0000-0000-0000-000000000000",
        ),
        tags=("saas", "crm"),
    ),
    Rule(
        id="salesforce-access-token",
        description="Salesforce session or OAuth access token",
        regex=r"\b(00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{80,200})",
        keywords=("00d",),
        entropy=3.5,
        hint="Revoke the session in Salesforce (Setup > Session Management) or the OAuth token of the connected app.",
        examples=(
            "SF_ACCESS_TOKEN=00DU1mXNbOOYypO!X66lLp0Zsc6eCooEUP5kMhgW3JEZczwboNi7jYWq.Z7REUlDb17Yfw7AkBvfdizlhFTyj8oXskv5fIKe87SVKvxnLYmDvHXc",
            "sf org login access-token --instance-url https://acme.my.salesforce.com 00DmBujTyx1W7s97bG!bVKCQSE0A445yBH2y8kYiij3A7zFIUvieVeCNR0bem6PXZwCo7o2bk6Y2qQs17xlHoGhrqPQz6WXgXm2f5AMtumJ0dNKlUTC",
        ),
        counterexamples=(
            "SF_ORG_ID=00DypJIMvMBEbZig5M",
            "SF_ACCESS_TOKEN=00D37KLFXX7hsY2!1L1bGHhbCVkpsxlE0Pu5",
        ),
        tags=("saas", "crm"),
    ),
    Rule(
        id="zapier-webhook-url",
        description="Zapier catch hook URL",
        regex=r"(https://hooks\.zapier\.com/hooks/catch/[0-9]{5,10}/[a-z0-9]{5,10})\b",
        keywords=("hooks.zapier.com",),
        entropy=3.0,
        hint="Turn off the Zap or replace its Catch Hook trigger to get a new URL.",
        examples=(
            "ZAPIER_WEBHOOK=https://hooks.zapier.com/hooks/catch/6991211/tarpnyp/",
            "requests.post('https://hooks.zapier.com/hooks/catch/44232496/5nay9f', json=payload)",
        ),
        counterexamples=(
            "ZAPIER_WEBHOOK=https://hooks.zapier.com/hooks/catch/123/abc/",
            "See https://zapier.com/apps/webhook for hooks.zapier.com usage.",
        ),
        tags=("saas", "webhook"),
    ),
    Rule(
        id="frameio-api-token",
        description="Frame.io developer token",
        regex=r"\b(fio-u-[A-Za-z0-9_\-]{64})" + _END,
        keywords=("fio-u-",),
        entropy=3.5,
        hint="Delete the token in the Frame.io developer site (Tokens).",
        examples=(
            "FRAMEIO_TOKEN=fio-u-vVkW829enG--gRwRf0SQPS2JPySjz0cO3FFba0eeYXs-p20AXq_2Sn2kgy3iqLIy",
            "headers = {'Authorization': 'Bearer fio-u-5jtpuwZbp6A7OTxSHNvjIw3DgmmprTZjPsOth6nP4SmEhR46ljL13PLMOSRMf7QC'}",
        ),
        counterexamples=(
            "FRAMEIO_TOKEN=fio-u-wdCpL1gY3PTXsouinv41",
            "FRAMEIO_TOKEN=fio-u-...",
        ),
        tags=("saas",),
    ),
    Rule(
        id="lob-api-key",
        description="Lob live API key",
        regex=r"(?i:\blob).{0,60}?\b(live_[a-f0-9]{35})\b",
        keywords=("lob",),
        entropy=3.0,
        hint="Roll the live key in the Lob dashboard (Settings > API Keys).",
        examples=(
            "LOB_API_KEY=live_44074ffaa9adba8dbb30b18e49e2527d862",
            "lob = Lob('live_261d2529fd722353d84022a3a28af46b593')",
        ),
        counterexamples=(
            "LOB_API_KEY=test_02398cf1197e975d6bafbb73841b71b5a85",
            "global_key = 'live_e06308613b4c008d66a071855d3838f220f'",
        ),
        tags=("saas",),
    ),
    Rule(
        id="yandex-oauth-token",
        description="Yandex OAuth token",
        regex=r"\b(y[0-3]_[A-Za-z0-9_\-]{55})" + _END,
        keywords=("y0_", "y1_", "y2_", "y3_"),
        entropy=3.5,
        hint="Revoke the token at oauth.yandex.com and issue a new one.",
        examples=(
            "YANDEX_OAUTH_TOKEN=y0_oSDX2hH59ICKPezBp0h-N757dCoe3OvTTdvCv99KDNdgVBrhZoZocTS",
            "yc config set token y0_yAqbz5cMNK7V9PXYs1BqIJIjRaIpJiyWJmZJv2G6fApUD4jPUdzFq1H",
        ),
        counterexamples=(
            "YANDEX_OAUTH_TOKEN=y0_x6HxJGduW2yDE4CQ22sx",
            "y0_offset = compute_offset(jrbsqoheaeydjjpkvfzw)",
        ),
        tags=("saas",),
    ),
    Rule(
        id="beamer-api-key",
        description="Beamer API key",
        regex=_assigned("beamer", r"(?:api[_.\-]?)?(?:key|token)", r"b_[A-Za-z0-9=_\-]{44}") + _END,
        keywords=("beamer",),
        entropy=3.5,
        hint="Delete the key in Beamer (Settings > API) and create a new one.",
        examples=(
            "BEAMER_API_KEY=b_4Y0UYve9aOKweVEvAyBWmgxNx61rGvMKAr2Flt3nCu39",
            "beamerApiKey: 'b_3WyGc4U3X51mD508VKuHYYFOpLy4sIqRLmSQk6FZXD5c'",
        ),
        counterexamples=(
            "BEAMER_PRODUCT_ID=SxsIXW6e",
            "BEAMER_API_KEY=b_J0F7lEY2LBCe",
        ),
        tags=("saas",),
    ),
    Rule(
        id="clickup-pat",
        description="ClickUp personal API token",
        regex=r"\b(pk_[0-9]{6,12}_[A-Z0-9]{32})\b",
        keywords=("pk_",),
        entropy=3.5,
        hint="Regenerate the token in ClickUp (Settings > Apps > API Token).",
        examples=(
            "CLICKUP_API_TOKEN=pk_84246615_KWXJT1YB3KL29EK6B2IVMII8CIQH33CA",
            "headers = {'Authorization': 'pk_301413258_FDJBPV59XXEWLXD7O3LPB0JKPGO7K3L9'}",
        ),
        counterexamples=(
            "CLICKUP_API_TOKEN=pk_97574551_Y1EDWXZ9WR",
            "STRIPE_PUBLISHABLE_KEY=pk_live_WTzBzo1B7hvxHhfG197PVied",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="launchdarkly-access-token",
        description="LaunchDarkly API access token",
        regex=r"\b(api-" + _UUID + r")\b",
        keywords=("api-",),
        entropy=3.0,
        hint="Reset or delete the access token in LaunchDarkly (Organization settings > Authorization).",
        examples=(
            "LAUNCHDARKLY_ACCESS_TOKEN=api-e7155aa6-f47f-6a38-4091-c0814d5f9455",
            'ld_token: "api-08ed4ff7-5e04-8039-db55-2561c355e793"',
        ),
        counterexamples=(
            "LAUNCHDARKLY_ACCESS_TOKEN=api-xxxxxxxx",
            "LAUNCHDARKLY_ACCESS_TOKEN=api-00000000-0000-0000-0000-000000000000",
        ),
        tags=("saas",),
    ),
    Rule(
        id="readme-api-key",
        description="ReadMe API key",
        regex=r"\b(rdme_[a-z0-9]{70})\b",
        keywords=("rdme_",),
        entropy=3.5,
        hint="Revoke the key in the ReadMe dashboard (Configuration > API Keys).",
        examples=(
            "README_API_KEY=rdme_544u86mxouffk332k9vue0497qk471ndhrq1xtqzrbanp4xs72pwu9qhrbcj51ou34tlpn",
            "rdme openapi --key=rdme_fsrukx3302fbxs5rqmphgcykg4v69wghh6b5ff1o8xqdazelnb1nyrz43lls7frqjji8z6",
        ),
        counterexamples=(
            "README_API_KEY=rdme_4gdbxi1n2qzea8pwb8zscx2j4kwpoi",
            "README_API_KEY=rdme_xxx",
        ),
        tags=("saas",),
    ),
    Rule(
        id="trello-api-token",
        description="Trello API token",
        regex=_assigned("trello", r"(?:api[_.\-]?)?token", r"(?:ATTA)?[A-Fa-f0-9]{64,72}") + r"\b",
        keywords=("trello",),
        entropy=3.0,
        hint="Revoke the token in Trello (Settings > Applications) and authorize again.",
        examples=(
            "TRELLO_TOKEN=ATTAa9107f752a79a15659e2506b4e516ea18fc1c3a81682d600a5646daa6aa4403cEBB8D9C5",
            "trello_api_token: '66bd312b26b5d69d694c51e1bb297301ea9fdd6d2b8ebf0b18ed27387de34915'",
        ),
        counterexamples=(
            "TRELLO_API_KEY=07f27f1c65a257bd5339a12adc6ecfd6",
            "TRELLO_TOKEN=4aa72b80486b2035d5c70c3b29ffe0",
        ),
        tags=("saas", "productivity"),
    ),
    Rule(
        id="cloudinary-url",
        description="Cloudinary URL with API secret",
        regex=r"\bcloudinary://[0-9]{10,20}:([A-Za-z0-9_\-]{27})@[A-Za-z0-9_\-]{1,64}",
        keywords=("cloudinary://",),
        entropy=3.5,
        hint="Generate a new API key pair in the Cloudinary Console (Settings > API Keys) and delete the old one.",
        examples=(
            "CLOUDINARY_URL=cloudinary://986653960661851:c6A-dqrqTQ6vqXelxHRLMvMreMC@my-cloud",
            "cloudinary.config(cloudinary_url='cloudinary://762841219857292:oHs3iKMqxHR3emmXCZBmsaaGBqs@demo')",
        ),
        counterexamples=(
            "CLOUDINARY_URL=cloudinary://<api_key>:<api_secret>@<cloud_name>",
            "CLOUDINARY_URL=cloudinary://006853675705882:Sspnf2ceGL@demo",
        ),
        tags=("saas",),
    ),
)

_LOGISTICS_AND_DEV: tuple[Rule, ...] = (
    Rule(
        id="shippo-api-token",
        description="Shippo live API token",
        regex=r"\b(shippo_live_[a-f0-9]{40})\b",
        keywords=("shippo_live_",),
        entropy=3.0,
        hint="Regenerate the live token in Shippo (Settings > API).",
        examples=(
            "SHIPPO_API_KEY=shippo_live_78ec2a6809879a68f8ff51488f6c0262e376744f",
            "shippo.config.api_key = 'shippo_live_e5b2c9c906778394b7a3f2e84a68ada2caf05234'",
        ),
        counterexamples=(
            "SHIPPO_API_KEY=shippo_test_7890d949196aefb4108223fa76a0544c78751960",
            "SHIPPO_API_KEY=shippo_live_9a4bc65749f167597b7d",
        ),
        tags=("saas", "shipping"),
    ),
    Rule(
        id="easypost-api-key",
        description="EasyPost production API key",
        regex=r"\b(EZAK[a-f0-9]{54})\b",
        keywords=("ezak",),
        entropy=3.0,
        hint="Disable the key in EasyPost (Account settings > API Keys) and create a new one.",
        examples=(
            "EASYPOST_API_KEY=EZAK7ce4e6ca243f6af9978705e68256d6e320d79c4f94529ac3be92c1",
            "client = easypost.EasyPostClient('EZAK96f2ff1aea8bdf41353d22304e8fb2df9352ca35fcb0278185927a')",
        ),
        counterexamples=(
            "EASYPOST_API_KEY=EZTK5bdf8ba7e9cbab02dee1bd1725de07d7fda645bc8b578d35c96f6d",
            "EASYPOST_API_KEY=EZAK35934e98e8e6b79a7a9b",
        ),
        tags=("saas", "shipping"),
    ),
    Rule(
        id="duffel-api-token",
        description="Duffel live access token",
        regex=r"\b(duffel_live_[A-Za-z0-9_\-=]{43})" + _END,
        keywords=("duffel_live_",),
        entropy=3.5,
        hint="Revoke the token in the Duffel dashboard (Developers > Access tokens).",
        examples=(
            "DUFFEL_ACCESS_TOKEN=duffel_live__nsIMcdguSNDP4ZnPCRbQJXSFLTPD379bizbMDQFg8s",
            "duffel = Duffel(access_token='duffel_live_jf0j0y1u80mRn0aBUo42VE966mEYeXo0Dmt0FYpJLyX')",
        ),
        counterexamples=(
            "DUFFEL_ACCESS_TOKEN=duffel_test_5oUOROq9Z6samTTW3WXWOOPq1MZhmJaymKGRhUUQidm",
            "DUFFEL_ACCESS_TOKEN=duffel_live_JEKyvabXm4cS",
        ),
        tags=("saas", "travel"),
    ),
    Rule(
        id="infracost-api-token",
        description="Infracost API key",
        regex=r"\b(ico-[A-Za-z0-9]{32})\b",
        keywords=("ico-",),
        entropy=3.5,
        hint="Rotate the key in Infracost Cloud (Org settings > API keys) or with `infracost configure`.",
        examples=(
            "INFRACOST_API_KEY=ico-2wvBS4irI3qRr54zCrMObZuqImvIj47z",
            "  infracost_api_key: 'ico-vVPxDwoU5iy3pZrFpTlXblojag9JXJXC'",
        ),
        counterexamples=(
            "INFRACOST_API_KEY=ico-ZgoZ0sZHFCAc5197",
            "favicon-CaH8LU4TuAlZ3xKs9jkmHe5MLZIJg8CZ.png",
        ),
        tags=("saas", "devtools"),
    ),
    Rule(
        id="prefect-api-key",
        description="Prefect Cloud API key",
        regex=r"\b(pnu_[A-Za-z0-9]{36})\b",
        keywords=("pnu_",),
        entropy=3.5,
        hint="Delete the key in Prefect Cloud (Profile > API Keys) and create a new one.",
        examples=(
            "PREFECT_API_KEY=pnu_l5g4iTT19zFKmJRknuQtL8EfIaF0oAdYJX7S",
            "prefect cloud login --key pnu_yYDgGAhO2zRLZ6BSjgG8A2i3RWBJUhz2pXgy",
        ),
        counterexamples=(
            "PREFECT_API_KEY=pnu_nEkGNeAcN9z0EAh0",
            "PREFECT_API_URL=https://api.prefect.cloud/api/accounts/x",
        ),
        tags=("saas", "devtools"),
    ),
    Rule(
        id="planetscale-service-token",
        description="PlanetScale service token",
        regex=r"\b(pscale_tkn_[A-Za-z0-9_\-.]{32,64})",
        keywords=("pscale_tkn_",),
        entropy=3.5,
        hint="Delete the service token in PlanetScale (Organization settings > Service tokens).",
        examples=(
            "PLANETSCALE_SERVICE_TOKEN=pscale_tkn_IGbUw6cF_k_o-ckEbIWWuZGX_pAg-1fOmIcxI7dx0Qa",
            "pscale auth login --service-token pscale_tkn_p06XwTLB6LFN4Pfi15dX2NMPebVGohqgJzZGePWpt8w",
        ),
        counterexamples=(
            "PLANETSCALE_SERVICE_TOKEN=pscale_tkn_YAbfljF71EFc",
            "PLANETSCALE_SERVICE_TOKEN_ID=mdba1qkp7gd7",
        ),
        tags=("saas", "database"),
    ),
    Rule(
        id="planetscale-password",
        description="PlanetScale database password",
        regex=r"\b(pscale_pw_[A-Za-z0-9_\-.]{32,64})",
        keywords=("pscale_pw_",),
        entropy=3.5,
        hint="Delete the password in PlanetScale (branch > Passwords) and create a new one.",
        examples=(
            "DATABASE_PASSWORD=pscale_pw_8w8Q24q3i-Ka1vzeA76qM5PaoU4Q3P8dwGE6Ki_dqL4",
            "  password: 'pscale_pw_4VslfY7mgECHdPP98Vo2pUWXobU5SofKNIlk90nyWj7'",
        ),
        counterexamples=(
            "DATABASE_PASSWORD=pscale_pw_QSkcOA2IXxct",
            "DATABASE_PASSWORD=pscale_pw_...",
        ),
        tags=("saas", "database"),
    ),
    Rule(
        id="planetscale-oauth-token",
        description="PlanetScale OAuth token",
        regex=r"\b(pscale_oauth_[A-Za-z0-9_\-.]{32,64})",
        keywords=("pscale_oauth_",),
        entropy=3.5,
        hint="Revoke the OAuth application's token in PlanetScale (Organization settings > OAuth applications).",
        examples=(
            "PLANETSCALE_OAUTH_TOKEN=pscale_oauth_dDdYT9N1TRh5PK9QGpEtRDZ2DAcDgYkGbcK--3SazJk",
            "token: 'pscale_oauth_4O7TOtggV6mGFqEpRl5nQoqF2wXWmNAKaYUtSogswUj'",
        ),
        counterexamples=(
            "PLANETSCALE_OAUTH_TOKEN=pscale_oauth_23eKGGteKFF8",
            "PLANETSCALE_OAUTH_TOKEN=pscale_oauth_...",
        ),
        tags=("saas", "database"),
    ),
)

RULES: tuple[Rule, ...] = _OBSERVABILITY + _PRODUCTIVITY + _LOGISTICS_AND_DEV
