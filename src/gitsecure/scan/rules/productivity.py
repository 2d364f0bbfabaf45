"""Productivity and business SaaS: work management, collaboration, CRM, automation and customer support.

Prefixed tokens (``lin_api_``, ``secret_``, ``pat-``...) match anywhere;
formats without a prefix match only where the provider's name and a key-like
word are assigned the value.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_LINE, UUID, assigned

RULES: tuple[Rule, ...] = (
    # --- Work management and collaboration ------------------------------------------------
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
        regex=r"\b(figd_[A-Za-z0-9_\-]{40,43})" + END_LINE,
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
        id="typeform-pat",
        description="Typeform personal access token",
        regex=r"\b(tfp_[A-Za-z0-9_\-]{40,64})" + END_LINE,
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
        id="frameio-api-token",
        description="Frame.io developer token",
        regex=r"\b(fio-u-[A-Za-z0-9_\-]{64})" + END_LINE,
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
        id="beamer-api-key",
        description="Beamer API key",
        regex=assigned("beamer", r"(?:api[_.\-]?)?(?:key|token)", r"b_[A-Za-z0-9=_\-]{44}") + END_LINE,
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
        id="trello-api-token",
        description="Trello API token",
        regex=assigned("trello", r"(?:api[_.\-]?)?token", r"(?:ATTA)?[A-Fa-f0-9]{64,72}") + r"\b",
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
    # --- CRM, automation and customer support ---------------------------------------------
    Rule(
        id="hubspot-pat",
        description="HubSpot private app access token",
        regex=r"\b(pat-(?:na|eu|ap)[0-9]-" + UUID + r")\b",
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
        id="zendesk-api-token",
        description="Zendesk API token",
        regex=assigned("zendesk", r"(?:api[_.\-]?)?token", r"[A-Za-z0-9]{40}") + r"\b",
        keywords=("zendesk",),
        entropy=3.5,
        hint="Deactivate and delete the token in Zendesk Admin Center (Apps and integrations > Zendesk API).",
        examples=(
            "ZENDESK_API_TOKEN=JE2ndq3AhrONHRfuAq39uKoFhO04eKNlUMHlybMm",
            'zendeskToken: "h9zv0IBNSfJipn2baF3s5o17lmIngtJMQDS3MxCT"',
        ),
        counterexamples=(
            "ZENDESK_API_TOKEN=frVU4qJSz0tklz9ZyLs4",
            "ZENDESK_SUBDOMAIN=mycompany",
        ),
        tags=("messaging", "support"),
    ),
    Rule(
        id="intercom-access-token",
        description="Intercom access token",
        regex=r"\b(dG9rO[A-Za-z0-9+/]{40,120}={0,2})",
        keywords=("dg9ro",),
        entropy=3.5,
        hint="Regenerate the access token in the Intercom Developer Hub (Authentication) or uninstall the app.",
        examples=(
            "INTERCOM_ACCESS_TOKEN=dG9rOj+AiyoPpEup/p7vnef9FGnuzHA1TsHb4AcIJQSOD2Wy6TpIIJ+Bgrb3=",
            "Intercom::Client.new(token: 'dG9rOmhBQ50ClhahBFjwXvrMkWnO3034K7NolEUyM62osu2sEki2gUqfbpBE')",
        ),
        counterexamples=(
            "INTERCOM_ACCESS_TOKEN=dG9rOnpziq53iEk",
            "INTERCOM_APP_ID=2k82tg92",
        ),
        tags=("messaging", "support"),
    ),
)
