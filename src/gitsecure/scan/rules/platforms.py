"""Identity, content, developer-platform, shipping and infrastructure-tooling APIs.

Okta, Auth0, Contentful, Algolia, Mapbox, LaunchDarkly, Cloudinary, Lob,
Shippo, EasyPost, Duffel, Infracost, Prefect, PlanetScale and more. Prefixed
tokens match anywhere; formats without a prefix (Okta's, Algolia's) match only
where the provider's name and a key-like word are assigned the value.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_LINE, UUID, assigned

RULES: tuple[Rule, ...] = (
    # --- Identity -------------------------------------------------------------------------
    Rule(
        id="okta-api-token",
        description="Okta API token",
        regex=(
            r"(?:"
            + assigned("okta", r"(?:api[_.\-]?|ssws[_.\-]?|access[_.\-]?)?token", r"00[A-Za-z0-9_\-]{40}")
            + r"|\bSSWS\s+(00[A-Za-z0-9_\-]{40}))"
            + END_LINE
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
        regex=assigned("auth0", r"client[_.\-]?secret", r"[A-Za-z0-9_\-]{64}") + END_LINE,
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
    # --- Content, media and developer platforms -------------------------------------------
    Rule(
        id="contentful-pat",
        description="Contentful personal access token",
        regex=r"\b(CFPAT-[A-Za-z0-9_\-]{43})" + END_LINE,
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
        regex=assigned("algolia", r"(?:admin|write|secret|private)[_.\-]?(?:api[_.\-]?)?key", r"[0-9a-f]{32}") + r"\b",
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
        regex=r"\b(sk\.eyJ[A-Za-z0-9_\-]{20,400}\.[A-Za-z0-9_\-]{20,100})" + END_LINE,
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
        regex=assigned(
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
        id="yandex-oauth-token",
        description="Yandex OAuth token",
        regex=r"\b(y[0-3]_[A-Za-z0-9_\-]{55})" + END_LINE,
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
        id="launchdarkly-access-token",
        description="LaunchDarkly API access token",
        regex=r"\b(api-" + UUID + r")\b",
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
    # --- Shipping and mail ----------------------------------------------------------------
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
        regex=r"\b(duffel_live_[A-Za-z0-9_\-=]{43})" + END_LINE,
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
    # --- Infrastructure tooling -----------------------------------------------------------
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
