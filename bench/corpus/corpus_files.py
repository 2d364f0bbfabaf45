"""The corpus files' contents, line by line with their labels (see ``generate.py``).

Each entry is ``(text, label)``: ``text`` may span several lines, the label (or None) applies to its
first line. Families: cloud, vcs, keys, database, payment, messaging, saas, ai, generic, gitops.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
Entry = tuple[str, Any]
Files = dict[str, list[Entry]]


def b64(text: str) -> str:
    """Base64 of UTF-8 text, as Kubernetes ``data`` holds it."""
    return base64.b64encode(text.encode()).decode()


def build_files(tok: Any, T: Callable[..., Any], F: Callable[..., Any]) -> Files:
    """Every corpus file; ``tok`` is a ``generate.Tokens``."""
    files: Files = {}
    n = None  # an unlabelled line

    def pem(kind: str, size: int = 1190) -> str:
        return "\n".join([f"-----BEGIN {kind}-----", *tok.pem_body(size), f"-----END {kind}-----"])

    # ---------------------------------------------------------------- cloud
    aws_id, aws_secret = (
        "AKIA" + tok.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        tok.chars(tok_alpha := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", 40),
    )
    files["app/.aws/credentials"] = [
        ("[default]", n),
        (f"aws_access_key_id = {aws_id}", T("cloud", "aws-access-key-id")),
        (f"aws_secret_access_key = {aws_secret}", T("cloud", "aws-secret-access-key")),
        ("region = eu-west-1", n),
        ("", n),
        ("[docs-example]", n),
        ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", F("cloud", "AWS documentation example key")),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", F("cloud", "AWS documentation example")),
    ]
    google_key = "AIza" + tok.chars(tok_alpha[:62] + "-_", 35)
    azure_conn_key = tok.b64(64)
    azure_ad = tok.chars(tok_alpha[:62], 3) + "8Q~" + tok.chars(tok_alpha[:62] + "_~.-", 34)
    sa_private = pem("PRIVATE KEY").replace("\n", "\\n")
    files["infra/gcp/service-account.json"] = [
        ("{", n),
        ('  "type": "service_account",', n),
        ('  "project_id": "billing-prod-3921",', n),
        (f'  "private_key_id": "{tok.hex(40)}",', F("cloud", "key ID: names the key, grants nothing")),
        (f'  "private_key": "{sa_private}\\n",', T("keys", None, "service account JSON private key")),
        ('  "client_email": "deployer@billing-prod-3921.iam.gserviceaccount.com",', n),
        ('  "client_id": "104829371642098347123",', n),
        ('  "token_uri": "https://oauth2.googleapis.com/token"', n),
        ("}", n),
    ]
    do_token = "dop_v1_" + tok.hex(64)
    ali = "LTAI" + tok.chars(tok_alpha[:62], 20)
    files["app/settings/cloud.py"] = [
        ('"""Cloud clients used by the billing worker."""', n),
        ("import os", n),
        ("", n),
        (f'MAPS_API_KEY = "{google_key}"', T("cloud", "gcp-api-key")),
        ("AZURE_STORAGE = (", n),
        (
            '    "DefaultEndpointsProtocol=https;AccountName=billingexports;'
            f'AccountKey={azure_conn_key};EndpointSuffix=core.windows.net"',
            T("cloud", "azure-storage-account-key"),
        ),
        (")", n),
        ("", n),
        (f'AZURE_CLIENT_SECRET = "{azure_ad}"', T("cloud", "azure-ad-client-secret")),
        (f'DIGITALOCEAN_TOKEN = "{do_token}"', T("cloud", "digitalocean-pat")),
        (f'ALIBABA_ACCESS_KEY_ID = "{ali}"', T("cloud", "alibaba-access-key-id")),
        ('AWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]', F("cloud", "read from the environment")),
        (
            'AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "")',
            F("cloud", "environment, empty default"),
        ),
        ('GOOGLE_API_KEY = "AIzaSy-your-api-key-here"', F("cloud", "placeholder")),
        ('BUCKET_ARN = "arn:aws:s3:::billing-exports-prod"', F("cloud", "ARN, not a credential")),
    ]

    # ---------------------------------------------------------------- vcs
    ghp, gho, ghs = tok.crc_token("ghp_"), tok.crc_token("gho_"), tok.crc_token("ghs_")
    fine = "github_pat_" + tok.chars(tok_alpha[:62], 22) + "_" + tok.chars(tok_alpha[:62], 59)
    glpat = "glpat-" + tok.chars(tok_alpha[:62] + "-_", 20)
    npm = tok.crc_token("npm_")
    files["ci/.github/workflows/release.yml"] = [
        ("name: release", n),
        ("on:\n  push:\n    tags: ['v*']", n),
        ("jobs:\n  publish:\n    runs-on: ubuntu-latest\n    env:", n),
        ("      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}", F("vcs", "GitHub Actions secret reference")),
        (f"      RELEASE_BOT_TOKEN: {ghp}", T("vcs", "github-personal-access-token")),
        (f"      NPM_TOKEN: {npm}", T("vcs", "npm-access-token")),
        ("      PYPI_TOKEN: ${{ secrets.PYPI_API_TOKEN }}", F("vcs", "GitHub Actions secret reference")),
        ("    steps:\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11", n),
        (
            '      - run: echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > ~/.npmrc',
            F("vcs", "variable reference"),
        ),
        ("      - run: npm publish", n),
    ]
    files["ci/.gitlab-ci.yml"] = [
        ("variables:", n),
        (f'  GITLAB_API_TOKEN: "{glpat}"', T("vcs", "gitlab-pat")),
        ('  DOCKER_AUTH_CONFIG: "$CI_REGISTRY_AUTH"', F("vcs", "CI variable reference")),
        ("deploy:\n  stage: deploy\n  script:", n),
        (
            f"    - git push https://oauth2:{gho}@github.com/acme/site.git HEAD:main",
            T("vcs", "github-oauth-access-token"),
        ),
        (
            '    - curl -H "PRIVATE-TOKEN: $GITLAB_API_TOKEN" https://gitlab.example.com/api/v4/projects',
            F("vcs", "variable reference"),
        ),
    ]
    files["app/scripts/sync_repos.sh"] = [
        ("#!/bin/sh", n),
        ("set -eu", n),
        (f"export GH_APP_INSTALLATION_TOKEN={ghs}", T("vcs", "github-server-to-server-token")),
        (f'export GITHUB_FINE_GRAINED="{fine}"', T("vcs", "github-fine-grained-pat")),
        ('export GITHUB_TOKEN="${GITHUB_TOKEN:?set GITHUB_TOKEN}"', F("vcs", "shell parameter expansion")),
        (f"# commit {tok.hex(40)} introduced the sync", F("vcs", "git commit id")),
        ("gh repo list acme --limit 500 --json name", n),
    ]
    files["app/.npmrc"] = [
        (f"//registry.npmjs.org/:_authToken={tok.crc_token('npm_')}", T("vcs", "npm-access-token")),
        ("@acme:registry=https://npm.pkg.github.com", n),
        ("//npm.pkg.github.com/:_authToken=${NODE_AUTH_TOKEN}", F("vcs", "variable reference")),
    ]
    files["app/.pypirc"] = [
        ("[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__", n),
        (f"password = {tok.pypi()}", T("vcs", "pypi-token")),
    ]
    files["tests/fixtures/tokens_test.py"] = [
        ('"""Fixtures for the token parser: none of these is a credential."""', n),
        ("", n),
        (f'BAD_CHECKSUM = "{tok.bad_crc_token("ghp_")}"', F("vcs", "ghp_ shape, wrong CRC-32 check digits")),
        ('PLACEHOLDER = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"', F("vcs", "placeholder x's")),
        ('REDACTED = "ghp_************************************"', F("vcs", "redacted")),
        (f'NPM_BAD = "{tok.bad_crc_token("npm_")}"', F("vcs", "npm_ shape, wrong check digits")),
        ('GITLAB_EXAMPLE = "glpat-XXXXXXXXXXXXXXXXXXXX"', F("vcs", "placeholder")),
        ('AWS_EXAMPLE = "AKIAIOSFODNN7EXAMPLE"', F("cloud", "AWS documentation example")),
        ('STRIPE_EXAMPLE = "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"', F("payment", "placeholder x's")),
        ('PASSWORD = "password123"', F("generic", "obvious test password")),
        ('API_KEY = "dummy-api-key"', F("generic", "obvious dummy")),
        ('TOKEN = "test-token"', F("generic", "obvious dummy")),
    ]

    # ---------------------------------------------------------------- keys
    files["infra/ssh/deploy_key"] = [
        (pem("OPENSSH PRIVATE KEY", 1000), T("keys", "openssh-private-key")),
    ]
    files["infra/tls/server.key"] = [(pem("RSA PRIVATE KEY", 1190), T("keys", "private-key-rsa"))]
    files["infra/tls/ec.pem"] = [(pem("EC PRIVATE KEY", 121), T("keys", "private-key-ec"))]
    files["infra/gpg/release-signing.asc"] = [
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n", T("keys", "pgp-private-key-block")),
        ("\n".join(tok.pem_body(1500)) + "\n=" + tok.b64(3)[:4] + "\n-----END PGP PRIVATE KEY BLOCK-----", n),
    ]
    files["infra/tls/server.crt"] = [
        (pem("CERTIFICATE", 1300), F("keys", "certificate: public")),
    ]
    files["infra/tls/server.pub.pem"] = [(pem("PUBLIC KEY", 294), F("keys", "public key"))]
    files["infra/ssh/authorized_keys"] = [
        (f"ssh-rsa {tok.b64(279)} deploy@ci", F("keys", "SSH public key")),
        (f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{tok.b64(24)[:43]} alice@laptop", F("keys", "SSH public key")),
    ]
    files["docs/keys.md"] = [
        ("# Keys\n\nGenerate a key with `ssh-keygen -t ed25519`. The file starts with:\n\n```", n),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", F("keys", "documentation: header only, no key")),
        ("...\n-----END OPENSSH PRIVATE KEY-----\n```", n),
    ]
    session_jwt = tok.jwt({"sub": "svc-billing", "iat": 1767225600, "scope": "billing:write"})
    files["app/src/client.js"] = [
        ("// Billing API client", n),
        ("import fetch from 'node-fetch';", n),
        (f"const SERVICE_JWT = '{session_jwt}';", T("keys", "jwt")),
        ("const apiKey = process.env.BILLING_API_KEY;", F("generic", "environment reference")),
        ("const headers = { Authorization: `Bearer ${apiKey}` };", F("generic", "template literal")),
        ("export const get = (path) => fetch(`https://billing.example.com${path}`, { headers });", n),
    ]

    # ---------------------------------------------------------------- database
    pg, my, mongo, rds = tok.password(), tok.password(20), tok.password(16), tok.password(24)
    files["app/.env"] = [
        ("# local overrides: never commit (but someone did)", n),
        (f"DATABASE_URL=postgres://billing:{pg}@db.internal:5432/billing", T("database", "postgres-uri-password")),
        (
            f"MONGO_URI=mongodb+srv://app:{mongo}@cluster0.x7k2p.mongodb.net/orders",
            T("database", "mongodb-uri-password"),
        ),
        (f"REDIS_URL=redis://:{tok.password(22)}@cache.internal:6379/0", T("database", "redis-uri-password")),
        (f"DJANGO_SECRET_KEY={tok.chars(tok_alpha[:62] + '!@#%^&*(-_=+)', 50)}", T("generic")),
        (f"SENTRY_DSN=https://{tok.hex(32)}@o123456.ingest.sentry.io/4504", F("saas", "Sentry DSN: public by design")),
        ("LOG_LEVEL=info", n),
        ("DEBUG=false", n),
    ]
    files["app/config/database.yml"] = [
        ("production:", n),
        ("  adapter: mysql2", n),
        ("  host: mysql.prod.internal", n),
        ("  username: billing", n),
        (f"  password: {my}", T("generic")),
        (f"  url: mysql://billing:{my}@mysql.prod.internal:3306/billing", T("database", "mysql-uri-password")),
        ("development:", n),
        ("  adapter: mysql2", n),
        ("  password: <%= ENV['DB_PASSWORD'] %>", F("generic", "ERB template")),
        ("  url: mysql://root@localhost:3306/billing_dev", F("database", "URL without a password")),
    ]
    files["app/src/main/resources/application.properties"] = [
        (
            f"spring.datasource.url=jdbc:postgresql://pg.prod:5432/ledger?user=ledger&password={rds}",
            T("database", "jdbc-password"),
        ),
        (f"spring.datasource.password={rds}", T("generic")),
        ("spring.datasource.username=ledger", n),
        ("spring.mail.password=${MAIL_PASSWORD}", F("generic", "property placeholder")),
        ("server.port=8080", n),
    ]
    files["docs/database.md"] = [
        ("# Connecting\n\nUse a URL of the form:\n", n),
        ("    postgres://USER:PASSWORD@HOST:5432/DBNAME", F("database", "documentation template")),
        ("    mongodb://<username>:<password>@localhost:27017", F("database", "documentation template")),
        (
            "\nFor local work `postgres://postgres:postgres@localhost:5432/dev` is fine.",
            F("database", "well-known local default"),
        ),
    ]

    # ---------------------------------------------------------------- payment
    sk_live = "sk_live_" + tok.chars(tok_alpha[:62], 24)
    rk_live = "rk_live_" + tok.chars(tok_alpha[:62], 99)
    files["app/payments/config.rb"] = [
        ("Stripe.api_version = '2024-06-20'", n),
        (f"Stripe.api_key = '{sk_live}'", T("payment", "stripe-secret-key")),
        (f"STRIPE_RESTRICTED = '{rk_live}'", T("payment", "stripe-restricted-key")),
        (
            f"STRIPE_PUBLISHABLE = 'pk_live_{tok.chars(tok_alpha[:62], 24)}'",
            F("payment", "publishable key: public by design"),
        ),
        (
            f"SQUARE_ACCESS_TOKEN = 'sq0atp-{tok.chars(tok_alpha[:62] + '-_', 22)}'",
            T("payment", "square-legacy-access-token"),
        ),
        (f"SQUARE_OAUTH_SECRET = 'sq0csp-{tok.chars(tok_alpha[:62] + '-_', 43)}'", T("payment", "square-oauth-secret")),
        (
            f"BRAINTREE_TOKEN = 'access_token$production${tok.chars('0123456789abcdefghijklmnopqrstuvwxyz', 16)}"
            f"${tok.hex(32)}'",
            T("payment", "braintree-access-token"),
        ),
        (f"SHOPIFY_ADMIN_TOKEN = 'shpat_{tok.hex(32)}'", T("payment", "shopify-access-token")),
        ("STRIPE_WEBHOOK_SECRET = ENV.fetch('STRIPE_WEBHOOK_SECRET')", F("payment", "environment reference")),
    ]

    # ---------------------------------------------------------------- messaging
    slack_bot = f"xoxb-{tok.chars('0123456789', 11)}-{tok.chars('0123456789', 13)}-{tok.chars(tok_alpha[:62], 24)}"
    slack_user = (
        f"xoxp-{tok.chars('0123456789', 11)}-{tok.chars('0123456789', 11)}-{tok.chars('0123456789', 13)}-{tok.hex(32)}"
    )
    hook = (
        f"https://hooks.slack.com/services/T{tok.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 8)}"
        f"/B{tok.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}/{tok.chars(tok_alpha[:62], 24)}"
    )
    discord = f"https://discord.com/api/webhooks/{tok.chars('0123456789', 18)}/{tok.chars(tok_alpha[:62] + '-_', 68)}"
    telegram = f"{tok.chars('0123456789', 10)}:AA{tok.chars(tok_alpha[:62] + '-_', 33)}"
    files["app/notify/settings.toml"] = [
        ("[slack]", n),
        (f'bot_token = "{slack_bot}"', T("messaging", "slack-bot-token")),
        (f'user_token = "{slack_user}"', T("messaging", "slack-user-token")),
        (f'webhook = "{hook}"', T("messaging", "slack-webhook-url")),
        ('channel = "#billing-alerts"', n),
        ("\n[discord]", n),
        (f'webhook = "{discord}"', T("messaging", "discord-webhook-url")),
        ("\n[telegram]", n),
        (f'bot_token = "{telegram}"', T("messaging", "telegram-bot-token")),
        ('chat_id = "-1001234567890"', F("messaging", "chat id: not a credential")),
        ("\n[twilio]", n),
        (f'account_sid = "AC{tok.hex(32)}"', F("messaging", "account SID: an identifier")),
        (f'api_key = "SK{tok.hex(32)}"', T("messaging", "twilio-api-key")),
        ("\n[email]", n),
        (
            f'sendgrid_api_key = "SG.{tok.chars(tok_alpha[:62] + "-_", 22)}.{tok.chars(tok_alpha[:62] + "-_", 43)}"',
            T("messaging", "sendgrid-api-key"),
        ),
        (f'mailgun_api_key = "key-{tok.hex(32)}"', T("messaging", "mailgun-api-key")),
        (f'mailchimp_api_key = "{tok.hex(32)}-us14"', T("messaging", "mailchimp-api-key")),
        ('smtp_password = ""', F("generic", "empty value")),
    ]

    # ---------------------------------------------------------------- saas
    files["infra/monitoring/agent.env"] = [
        (f"DD_API_KEY={tok.hex(32)}", T("saas", "datadog-api-key")),
        ("DD_SITE=datadoghq.eu", n),
        (
            f"NEW_RELIC_API_KEY=NRAK-{tok.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 27)}",
            T("saas", "newrelic-user-api-key"),
        ),
        (f"GRAFANA_SA_TOKEN={tok.grafana()}", T("saas", "grafana-service-account-token")),
        (f"SENTRY_AUTH_TOKEN=sntryu_{tok.hex(64)}", T("saas", "sentry-user-token")),
        (f"DD_TRACE_ID={tok.chars('0123456789', 19)}", F("saas", "trace id")),
    ]
    vault = "hvs." + tok.chars(tok_alpha[:62] + "-_", 91)
    tfc = f"{tok.chars(tok_alpha[:62], 14)}.atlasv1.{tok.chars(tok_alpha[:62], 67)}"
    files["infra/terraform/providers.tf"] = [
        ('provider "vault" {', n),
        ('  address = "https://vault.internal:8200"', n),
        (f'  token   = "{vault}"', T("saas", "vault-service-token")),
        ("}", n),
        ('\nterraform {\n  cloud {\n    organization = "acme"', n),
        (f'    token        = "{tfc}"', T("saas", "terraform-cloud-token")),
        ("  }\n}", n),
        ('\nprovider "datadog" {\n  api_key = var.datadog_api_key', F("saas", "Terraform variable")),
        ("  app_key = var.datadog_app_key\n}", F("saas", "Terraform variable")),
        ('\nresource "aws_db_instance" "ledger" {\n  engine   = "postgres"\n  username = "ledger"', n),
        (f'  password = "{tok.password(20)}"', T("generic")),
        ("}", n),
        ('\nresource "aws_db_instance" "reports" {\n  username = "reports"', n),
        ("  password = var.reports_db_password", F("generic", "Terraform variable")),
        ("  password_wo = random_password.reports.result\n}", F("generic", "resource reference")),
    ]
    files["app/integrations/keys.py"] = [
        ('"""Third-party API clients."""', n),
        (f'DOPPLER_TOKEN = "dp.pt.{tok.chars(tok_alpha[:62], 43)}"', T("saas", "doppler-token")),
        (f'LINEAR_API_KEY = "lin_api_{tok.chars(tok_alpha[:62], 40)}"', T("saas", "linear-api-key")),
        (f'POSTMAN_API_KEY = "PMAK-{tok.hex(24)}-{tok.hex(34)}"', T("saas", "postman-api-key")),
        (f'DATABRICKS_TOKEN = "dapi{tok.hex(32)}"', T("saas", None, "Databricks PAT: no specific rule yet")),
        (f'PULUMI_ACCESS_TOKEN = "pul-{tok.hex(40)}"', T("saas", "pulumi-access-token")),
        (
            f'ATLASSIAN_TOKEN = "ATATT3xFfGF0{tok.chars(tok_alpha[:62] + "-_", 170)}={tok.hex(8).upper()}"',
            T("saas", "atlassian-api-token"),
        ),
        (f'SESSION_ID = "{tok.hex(8)}-{tok.hex(4)}-4{tok.hex(3)}-a{tok.hex(3)}-{tok.hex(12)}"', F("generic", "UUID")),
        (f'BUILD_SHA256 = "{tok.hex(64)}"', F("generic", "content hash")),
        (f'ETAG = "{tok.hex(32)}"', F("generic", "md5 etag")),
        ('CACHE_KEY_PREFIX = "billing-v2-"', n),
    ]

    # ---------------------------------------------------------------- ai
    openai_proj = f"sk-proj-{tok.chars(tok_alpha[:62] + '-_', 74)}T3BlbkFJ{tok.chars(tok_alpha[:62] + '-_', 74)}"
    openai_legacy = f"sk-{tok.chars(tok_alpha[:62], 20)}T3BlbkFJ{tok.chars(tok_alpha[:62], 20)}"
    anthropic = f"sk-ant-api03-{tok.chars(tok_alpha[:62] + '-_', 93)}AA"
    files["app/ml/providers.py"] = [
        ('"""LLM providers for the support assistant."""', n),
        ("import os", n),
        (f'OPENAI_API_KEY = "{openai_proj}"', T("ai", "openai-project-key")),
        (f'LEGACY_OPENAI_KEY = "{openai_legacy}"', T("ai", "openai-legacy-key")),
        (f'ANTHROPIC_API_KEY = "{anthropic}"', T("ai", "anthropic-api-key")),
        (
            f'HF_TOKEN = "hf_{tok.chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34)}"',
            T("ai", "huggingface-token"),
        ),
        (f'GROQ_API_KEY = "gsk_{tok.chars(tok_alpha[:62], 52)}"', T("ai", "groq-api-key")),
        (f'REPLICATE_API_TOKEN = "r8_{tok.chars(tok_alpha[:62], 37)}"', T("ai", "replicate-api-token")),
        ('MISTRAL_API_KEY = os.getenv("MISTRAL_API_KEY")', F("ai", "environment reference")),
        ('OPENAI_EXAMPLE = "sk-..."', F("ai", "elided example")),
        ('MODEL = "gpt-4o-mini-2024-07-18"', F("ai", "model name")),
    ]

    # ---------------------------------------------------------------- generic
    files["app/config/settings.yaml"] = [
        ("service:\n  name: billing\n  port: 8443", n),
        ("auth:", n),
        (f"  client_secret: {tok.chars(tok_alpha[:62], 32)}", T("generic")),
        (f'  signing_key: "{tok.b64(48)}"', T("generic")),
        ('  password: "${AUTH_PASSWORD}"', F("generic", "environment placeholder")),
        ("  api_key: changeme", F("generic", "placeholder")),
        ("  token: <your-token-here>", F("generic", "placeholder")),
        ('  secret: "{{ .Values.auth.secret }}"', F("generic", "Helm template")),
        ("  password_min_length: 12", F("generic", "keyword in a setting name, numeric value")),
        ("  token_ttl: 3600", n),
        ('  api_key_header: "X-Api-Key"', F("generic", "header name")),
        (f"  webhook_secret: {tok.password(30)}  # pragma: allowlist secret", F("generic", "suppressed inline")),
        (f"  legacy_secret: {tok.password(30)}  # gitleaks:allow", F("generic", "suppressed inline")),
    ]
    files["app/src/auth.py"] = [
        ('"""Login helpers."""', n),
        ("from app.secrets import get_secret", n),
        ("", n),
        ('DB_PASSWORD = get_secret("db/password")', F("generic", "indirect reference")),
        ('ADMIN_PASSWORD = "' + tok.password(16) + '"', T("generic")),
        ("", n),
        ("def login(request):", n),
        ('    token = request.headers["Authorization"]', F("generic", "indirect reference")),
        ('    password = request.form.get("password", "")', F("generic", "indirect reference")),
        ('    if password == "":', F("generic", "comparison with empty string")),
        ('        raise ValueError("password required")', n),
        (f'    api_secret = "{tok.chars(tok_alpha[:62], 40)}"', T("generic")),
        ("    return check(token, password, api_secret)", n),
    ]
    files["app/src/Config.java"] = [
        ("package com.acme.billing;", n),
        ("public final class Config {", n),
        (f'    private static final String API_TOKEN = "{tok.chars(tok_alpha[:62], 36)}";', T("generic")),
        ('    private static final String PASSWORD_FIELD = "password";', F("generic", "field name")),
        ('    private static final String SECRET_PREFIX = "secret/";', F("generic", "path prefix")),
        ("}", n),
    ]
    files["app/src/main.go"] = [
        ('package main\n\nimport "os"\n', n),
        (f'const webhookSecret = "{tok.chars(tok_alpha[:62], 32)}"', T("generic")),
        ('var apiKey = os.Getenv("API_KEY")', F("generic", "environment reference")),
        ("\nfunc main() {}", n),
    ]
    files["docs/getting-started.md"] = [
        ("# Getting started\n\nExport your token first:\n\n```sh", n),
        ("export GITHUB_TOKEN=<your token>", F("vcs", "documentation placeholder")),
        ("export API_KEY=YOUR_API_KEY_HERE", F("generic", "documentation placeholder")),
        ('curl -u "admin:password" http://localhost:8080/api', F("generic", "documentation default")),
        ("```", n),
    ]
    files.update(_false_only(tok, T, F))
    files.update(_gitops(tok, T, F, pem))
    # ---------------------------------------------------------------- a token alone at the end of its file
    # The commonest leak: one unquoted value as the last line a rule's keywords appear on, newline after it.
    # (Drawn last so the tokens above stay byte-for-byte the same.)
    files["deploy/hcloud.env"] = [
        ("# deploy job: cloud context", n),
        (f"HCLOUD_TOKEN={tok.chars(ALPHANUMERIC, 64)}", T("cloud", "hetzner-cloud-token")),
    ]
    files["deploy/gitlab.env"] = [
        ("# mirror job", n),
        (f"GITLAB_TOKEN=glpat-{tok.chars(ALPHANUMERIC + '-_', 20)}", T("vcs", "gitlab-pat")),
    ]
    return files


def _false_only(tok: Any, T: Callable[..., Any], F: Callable[..., Any]) -> Files:
    """Files a scanner must leave alone entirely: lock files, minified code, hashes."""
    n = None
    files: Files = {}
    lock = {
        "name": "billing-ui",
        "lockfileVersion": 3,
        "packages": {
            f"node_modules/{name}": {
                "version": f"{tok.rng.randrange(1, 9)}.{tok.rng.randrange(0, 20)}.{tok.rng.randrange(0, 9)}",
                "resolved": f"https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz",
                "integrity": "sha512-" + tok.b64(64),
            }
            for name in ("react", "react-dom", "scheduler", "loose-envify", "js-tokens", "object-assign")
        },
    }
    lock_lines = json.dumps(lock, indent=2).split("\n")
    files["app/ui/package-lock.json"] = [
        (line, F("generic", "lock file integrity hash") if '"integrity"' in line else n) for line in lock_lines
    ]
    files["app/go.sum"] = [
        (f"github.com/acme/{m} v1.{i}.0 h1:{tok.b64(32)}", F("generic", "go.sum hash"))
        for i, m in enumerate(("retry", "ledger", "money", "clock"))
    ]
    files["app/poetry.lock"] = [
        ('[[package]]\nname = "requests"\nversion = "2.32.3"\nfiles = [', n),
        (
            f'    {{file = "requests-2.32.3-py3-none-any.whl", hash = "sha256:{tok.hex(64)}"}},',
            F("generic", "lock file hash"),
        ),
        ("]", n),
    ]
    identifiers = ",".join(
        f"{tok.chars('abcdefghijklmnopqrstuvwxyz', 1)}{tok.chars(ALPHANUMERIC, 2)}"
        f'=function(e,t){{return e.{tok.chars("abcdefghijkl", 3)}(t,"{tok.b64(18)}")}}'
        for _ in range(60)
    )
    files["app/ui/dist/vendor.min.js"] = [
        (
            f'!function(){{"use strict";var {identifiers};var apiKeyHeader="x-api-key",tokenKey="auth_token";}}();',
            F("generic", "minified bundle"),
        ),
        (f"//# sourceMappingURL=data:application/json;base64,{tok.b64(600)}", F("generic", "inline source map")),
    ]
    files["app/checksums.txt"] = [
        (f"{tok.hex(64)}  billing-{v}.tar.gz", F("generic", "sha256 checksum")) for v in ("1.0.0", "1.1.0", "1.2.0")
    ]
    files["app/migrations/0007_ids.sql"] = [
        (
            f"INSERT INTO tenants (id, api_key_id) VALUES ('{tok.hex(8)}-{tok.hex(4)}-4{tok.hex(3)}-8{tok.hex(3)}-"
            f"{tok.hex(12)}', 'key_{tok.chars('abcdefghijklmnopqrstuvwxyz0123456789', 8)}');",
            F("generic", "UUID and id"),
        )
    ]
    return files


def _gitops(tok: Any, T: Callable[..., Any], F: Callable[..., Any], pem: Callable[..., str]) -> Files:
    """Kubernetes, Helm, kubeconfig, Docker auth and Terraform state."""
    n = None
    files: Files = {}
    ghp = tok.crc_token("ghp_")
    files["gitops/apps/billing/secret.yaml"] = [
        ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-db\n  namespace: billing\ntype: Opaque\ndata:", n),
        (f"  password: {b64(tok.password(20))}", T("gitops", None, "base64 data: plaintext once decoded")),
        (f"  github-token: {b64(ghp)}", T("gitops", None, "base64 data hiding a GitHub token")),
        (f"  username: {b64('billing')}", F("gitops", "non-secret key (username)")),
        ("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-api\n  namespace: billing\nstringData:", n),
        (
            f"  API_KEY: {tok.chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 40)}",
            T("gitops", None, "stringData plaintext"),
        ),
        (f'  SMTP_PASSWORD: "{tok.password(16)}"', T("gitops", None, "stringData plaintext")),
        ('  LOG_LEVEL: "info"', F("gitops", "non-secret stringData")),
    ]
    files["gitops/apps/billing/tls-secret.yaml"] = [
        ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-tls\ntype: kubernetes.io/tls\ndata:", n),
        (f"  tls.crt: {b64(pem('CERTIFICATE', 700))}", F("gitops", "certificate: public")),
        (f"  tls.key: {b64(pem('RSA PRIVATE KEY', 1190))}", T("gitops", None, "base64 PEM private key")),
    ]
    registry_pass = tok.password(24)
    dockercfg = json.dumps(
        {
            "auths": {
                "registry.acme.io": {"username": "ci", "password": registry_pass, "auth": b64(f"ci:{registry_pass}")}
            }
        }
    )
    files["gitops/apps/billing/regcred.yaml"] = [
        ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\ndata:", n),
        (f"  .dockerconfigjson: {b64(dockercfg)}", T("gitops", None, "dockerconfigjson auths")),
    ]
    docker_pass = tok.password(20)
    files["infra/docker/config.json"] = [
        ('{\n  "auths": {\n    "ghcr.io": {', n),
        (f'      "auth": "{b64("deploy:" + docker_pass)}"', T("gitops", None, "Docker config auth")),
        ('    },\n    "https://index.docker.io/v1/": {', n),
        ('      "auth": ""', F("gitops", "empty auth")),
        ('    }\n  },\n  "credsStore": "desktop"\n}', n),
    ]
    k8s_token = tok.jwt({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:ci:deployer"})
    files["infra/kube/config"] = [
        ("apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:", n),
        (f"    certificate-authority-data: {b64(pem('CERTIFICATE', 700))}", F("gitops", "CA certificate: public")),
        ("    server: https://10.0.0.1:6443\nusers:\n- name: admin\n  user:", n),
        (f"    client-certificate-data: {b64(pem('CERTIFICATE', 700))}", F("gitops", "client certificate: public")),
        (f"    client-key-data: {b64(pem('RSA PRIVATE KEY', 1190))}", T("gitops", None, "kubeconfig client key")),
        ("- name: deployer\n  user:", n),
        (f"    token: {k8s_token}", T("gitops", None, "kubeconfig bearer token")),
        (
            "- name: oidc\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
            "      command: kubelogin\ncontexts:\n- name: prod\n  context:\n    cluster: prod\n    user: admin\n"
            "current-context: prod",
            n,
        ),
    ]
    files["gitops/charts/billing/values-prod.yaml"] = [
        ("replicaCount: 3\nimage:\n  repository: registry.acme.io/billing\n  tag: 1.4.2\npostgresql:\n  auth:", n),
        ("    username: billing", n),
        (f"    password: {tok.password(18)}", T("gitops", None, "Helm values literal password")),
        (f'    postgresPassword: "{tok.password(18)}"', T("gitops", None, "Helm values literal password")),
        ("    existingSecret: billing-db", F("gitops", "reference to a Secret")),
        ("redis:\n  auth:\n    enabled: true", n),
        ('    password: ""', F("gitops", "empty value")),
        ("    existingSecretPasswordKey: redis-password", F("gitops", "key name")),
    ]
    files["gitops/charts/billing/templates/secret.yaml"] = [
        ('apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ include "billing.fullname" . }}\ndata:', n),
        ("  password: {{ .Values.postgresql.auth.password | b64enc | quote }}", F("gitops", "Helm template")),
        ('  api-key: {{ required "apiKey" .Values.apiKey | b64enc }}', F("gitops", "Helm template")),
        ("stringData:", n),
        (
            '  DATABASE_URL: "postgres://billing:{{ .Values.postgresql.auth.password }}@db:5432/billing"',
            F("gitops", "Helm template inside a URL"),
        ),
    ]
    files["gitops/apps/billing/sealed-secret.yaml"] = [
        (
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: billing-db\n"
            "  namespace: billing\nspec:\n  encryptedData:",
            n,
        ),
        (f"    password: Ag{tok.b64(700)}", F("gitops", "SealedSecret encryptedData")),
        (f"    github-token: Ag{tok.b64(700)}", F("gitops", "SealedSecret encryptedData")),
        ("  template:\n    metadata:\n      name: billing-db\n      namespace: billing\n    type: Opaque", n),
    ]

    def sops(value_len: int) -> str:
        return f"ENC[AES256_GCM,data:{tok.b64(value_len)},iv:{tok.b64(32)},tag:{tok.b64(16)},type:str]"

    files["gitops/apps/billing/secrets.enc.yaml"] = [
        ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-sops\ntype: Opaque\nstringData:", n),
        (f"  DB_PASSWORD: {sops(20)}", F("gitops", "SOPS-encrypted value")),
        (f"  STRIPE_KEY: {sops(32)}", F("gitops", "SOPS-encrypted value")),
        ("sops:\n  age:", n),
        (
            "    - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            F("gitops", "age recipient: a public key"),
        ),
        ("      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----", n),
        *[("        " + line, F("gitops", "age-encrypted data key")) for line in tok.pem_body(180)],
        ("        -----END AGE ENCRYPTED FILE-----", n),
        ('  lastmodified: "2026-01-31T12:00:00Z"', n),
        (f"  mac: {sops(32)}", F("gitops", "SOPS MAC")),
        ("  unencrypted_suffix: _unencrypted\n  version: 3.9.0", n),
    ]
    files["gitops/apps/billing/.env.enc"] = [
        (f"DATABASE_PASSWORD={sops(20)}", F("gitops", "SOPS dotenv")),
        (f"sops_mac={sops(32)}", F("gitops", "SOPS MAC")),
        ("sops_version=3.9.0", n),
    ]
    files["gitops/apps/billing/external-secret.yaml"] = [
        (
            "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: billing-db\nspec:\n"
            "  refreshInterval: 1h\n  secretStoreRef:\n    name: vault\n    kind: ClusterSecretStore\n  target:\n"
            "    name: billing-db\n  data:",
            n,
        ),
        ("    - secretKey: password", F("gitops", "ExternalSecret target key name")),
        ("      remoteRef:", n),
        ("        key: secret/data/billing/db", F("gitops", "ExternalSecret reference")),
        ("        property: password", F("gitops", "ExternalSecret reference")),
    ]
    files["gitops/apps/billing/kustomization.yaml"] = [
        ("resources:\n  - sealed-secret.yaml\nsecretGenerator:\n  - name: billing-env", n),
        ("    envs:\n      - secrets.env", F("gitops", "generator file reference")),
        ("configMapGenerator:\n  - name: billing-config\n    literals:", n),
        ("      - PASSWORD_POLICY=strict", F("gitops", "keyword in a non-secret setting")),
    ]
    files["gitops/apps/billing/configmap.yaml"] = [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: billing-config\ndata:", n),
        (f"  config-hash: {tok.hex(64)}", F("gitops", "content hash")),
        ("  auth-url: https://auth.acme.io/oauth2/token", F("gitops", "token endpoint URL")),
        (f"  tenant-id: {tok.hex(8)}-{tok.hex(4)}-4{tok.hex(3)}-9{tok.hex(3)}-{tok.hex(12)}", F("gitops", "UUID")),
    ]
    state = {
        "version": 4,
        "terraform_version": "1.9.5",
        "serial": 42,
        "lineage": f"{tok.hex(8)}-{tok.hex(4)}-{tok.hex(4)}-{tok.hex(4)}-{tok.hex(12)}",
        "resources": [
            {
                "mode": "managed",
                "type": "aws_db_instance",
                "name": "ledger",
                "instances": [
                    {
                        "attributes": {
                            "username": "ledger",
                            "password": tok.password(20),
                            "endpoint": "ledger.abc.eu-west-1.rds.amazonaws.com",
                        }
                    }
                ],
            },
            {
                "mode": "managed",
                "type": "random_password",
                "name": "api",
                "instances": [{"attributes": {"length": 32, "result": tok.password(32)}}],
            },
        ],
    }
    state_lines = json.dumps(state, indent=2).split("\n")
    files["infra/terraform/terraform.tfstate"] = [
        (line, T("gitops", None, "Terraform state secret") if ('"password"' in line or '"result"' in line) else n)
        for line in state_lines
    ]

    return files
