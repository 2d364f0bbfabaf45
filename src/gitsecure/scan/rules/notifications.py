"""E-mail, SMS, voice and push notification APIs: SendGrid, Mailgun, Twilio, Vonage, OneSignal...

Tokens without a documented prefix are matched only next to the provider's
name and an assignment.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_LINE, UUID, assigned

RULES: tuple[Rule, ...] = (
    # --- E-mail ---------------------------------------------------------------------------
    Rule(
        id="sendgrid-api-key",
        description="SendGrid API key",
        regex=r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})" + END_LINE,
        keywords=("sg.",),
        entropy=3.5,
        secret_type="SendGrid API Key",
        hint="Delete the key in SendGrid (Settings > API Keys) and create a new one with the scopes it needs.",
        examples=(
            "SENDGRID_API_KEY=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",
            "sg = SendGridAPIClient('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')",
        ),
        counterexamples=(
            "SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "SENDGRID_API_KEY=SG.CRsaXpXqLd0B085VfQPeR2.8qdIHBus8Se6LY06EbZn",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="mailgun-api-key",
        description="Mailgun API key",
        regex=r"(?i:mailgun).{0,60}?\b(key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\b",
        keywords=("mailgun",),
        entropy=3.0,
        hint="Delete the key in the Mailgun control panel (API Security) and create a new one.",
        examples=(
            "MAILGUN_API_KEY=key-64b754264c450428723a7cc246e5b275",
            "mailgun_api_key: '1ceaac0b1be918a0971ec51df7216022-df5ded50-4623b344'",
        ),
        counterexamples=(
            "MAILGUN_API_KEY=key-1ee1f0d4624751ed",
            "MAILGUN_DOMAIN=mg.example.com",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="mailchimp-api-key",
        description="Mailchimp Marketing API key",
        regex=r"\b([0-9a-f]{32}-us[0-9]{1,2})\b",
        keywords=("-us",),
        entropy=3.0,
        secret_type="Mailchimp Access Key",
        hint="Disable the key in Mailchimp (Profile > Extras > API keys) and create a new one.",
        examples=(
            "MAILCHIMP_API_KEY=686ed7d582c25a6266f19ddde69df9b4-us12",
            "client.set_config({'api_key': '5403a631a8f8109a229280584c418eb4-us6', 'server': 'us6'})",
        ),
        counterexamples=(
            "MAILCHIMP_API_KEY=a1ed44704bd9e52c70f9-us12",
            "MAILCHIMP_API_KEY=00000000000000000000000000000000-us1",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="mandrill-api-key",
        description="Mailchimp Transactional (Mandrill) API key",
        regex=assigned("mandrill", r"(?:api[_.\-]?)?(?:key|token|secret)", r"(?:md-)?[A-Za-z0-9_\-]{22}") + END_LINE,
        keywords=("mandrill",),
        entropy=3.5,
        hint="Delete the key in Mailchimp Transactional (Settings > SMTP & API Info) and create a new one.",
        examples=(
            "MANDRILL_API_KEY=md-bS7WYSLNsrD2lYCKPe6iJi",
            'mandrill_key: "ApZ9TImWAaadxs79o4FYFc"',
        ),
        counterexamples=(
            "MANDRILL_API_KEY=R6bC53fSYu",
            "MANDRILL_API_KEY=your-mandrill-key",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="postmark-server-token",
        description="Postmark server or account API token",
        regex=assigned("postmark", r"(?:server|account|api)?[_.\-]?(?:token|key)", UUID) + r"\b",
        keywords=("postmark",),
        entropy=3.0,
        hint="Reset the token in Postmark (Server > API Tokens, or Account > API Tokens).",
        examples=(
            "POSTMARK_SERVER_TOKEN=9b7cd272-8a7e-0ae9-ed90-79c5c452e58e",
            "X-Postmark-Server-Token: ecf42ea5-0297-59e9-1ddc-ffe9decd19da",
        ),
        counterexamples=(
            "POSTMARK_SERVER_TOKEN=POSTMARK_API_TEST",
            "POSTMARK_MESSAGE_STREAM=2f4ef6c2-f982-a098-fd4d-7d5d9f9c83dd",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="brevo-api-key",
        description="Brevo (Sendinblue) API key",
        regex=r"\b(xkeysib-[0-9a-f]{64}-[A-Za-z0-9]{16})\b",
        keywords=("xkeysib-",),
        entropy=3.0,
        hint="Delete the key in Brevo (SMTP & API > API Keys) and generate a new one.",
        examples=(
            "BREVO_API_KEY=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",
            "configuration.api_key['api-key'] = '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'",
        ),
        counterexamples=(
            "BREVO_API_KEY=xkeysib-7c43d6172efba990d00bb9c34828d6c7-930IhPJcvzQ8yXex",
            "BREVO_API_KEY=xkeysib-...",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="brevo-smtp-key",
        description="Brevo (Sendinblue) SMTP key",
        regex=r"\b(xsmtpsib-[0-9a-f]{64}-[A-Za-z0-9]{16})\b",
        keywords=("xsmtpsib-",),
        entropy=3.0,
        hint="Delete the SMTP key in Brevo (SMTP & API > SMTP) and generate a new one.",
        examples=(
            "SMTP_PASSWORD=xsmtpsib-0fc2a7041b82b1e044af52637ece9ba47fcd470951a5c1e89db34802605e8475-62Vh96pO0LICii2V",
            "  password: 'xsmtpsib-0586c14f86440842abd7f1ee872cb6b399d27b4dcc6e4a32ffd76f739adf8c07-D5YGSVEPJApEv470'",
        ),
        counterexamples=(
            "SMTP_PASSWORD=xsmtpsib-22926ffa992ae78ff590647e679d9d3353256825",
            "SMTP_PASSWORD=xsmtpsib-your-key",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="resend-api-key",
        description="Resend API key",
        regex=r"(?i:resend).{0,60}?\b(re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24})\b",
        keywords=("resend",),
        entropy=3.5,
        hint="Delete the key in the Resend dashboard (API Keys) and create a new one.",
        examples=(
            "RESEND_API_KEY=re_Zcv4uRIX_5uwOmfZdhZyi7B9tTPJ2D1v3",
            "const resend = new Resend('re_GVMttUF8_3l39X1A0O2TVMr7OycxZBSpc');",
        ),
        counterexamples=(
            "RESEND_API_KEY=re_123456789",
            "RESEND_API_KEY=re_E3rWIZWA_0AwxgjSkGl",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="mailersend-api-token",
        description="MailerSend API token",
        regex=r"\b(mlsn\.[0-9a-f]{64})\b",
        keywords=("mlsn.",),
        entropy=3.0,
        hint="Delete the token in MailerSend (Integrations > API tokens) and create a new one.",
        examples=(
            "MAILERSEND_API_KEY=mlsn.582d08fcca9b7349d01f70902df17ecdadf4dac308322872c75f44d69b3dd9c4",
            "mailer = MailerSend('mlsn.72e7edd144a3bcb9e87c90d05461906f147e80113cfc6bfb1e72ce16e29076d2')",
        ),
        counterexamples=(
            "MAILERSEND_API_KEY=mlsn.0568d6a3173aac69c08946c5d86ffa",
            "MAILERSEND_API_KEY=mlsn.xxx",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="sparkpost-api-key",
        description="SparkPost API key",
        regex=assigned(r"spark[_.\-]?post", r"(?:api[_.\-]?)?key", r"[0-9a-f]{40}") + r"\b",
        keywords=("sparkpost", "spark_post"),
        entropy=3.0,
        hint="Delete the key in SparkPost (Configuration > API Keys) and create a new one.",
        examples=(
            "SPARKPOST_API_KEY=835aff98d25240660afdb852208a08030107fd9a",
            "sparkpostKey: '3b60a3f593b735719bd6768943d26bfe236c5009'",
        ),
        counterexamples=(
            "SPARKPOST_API_KEY=6dc0b5e251b944d23cb3",
            "SPARKPOST_API_KEY=${SPARKPOST_KEY}",
        ),
        tags=("messaging", "email"),
    ),
    Rule(
        id="mailjet-api-secret",
        description="Mailjet API secret key",
        regex=assigned(r"(?:mailjet|\bmj)", r"(?:secret|private)", r"[0-9a-f]{32}") + r"\b",
        keywords=("mailjet", "mj_apikey", "mj_api"),
        entropy=3.0,
        hint="Regenerate the secret key in Mailjet (Account settings > API key management).",
        examples=(
            "MJ_APIKEY_PRIVATE=2b45ef1d79b0b74af8e991524968b4b2",
            "mailjet_secret_key: '786e3229384a61abff35270b3ca48601'",
        ),
        counterexamples=(
            "MJ_APIKEY_PUBLIC=5d21ea8e49c25d427e45131b66dd4134",
            "MAILJET_SECRET_KEY=5812c2fad1220688",
        ),
        tags=("messaging", "email"),
    ),
    # --- SMS and voice --------------------------------------------------------------------
    Rule(
        id="twilio-api-key",
        description="Twilio API key SID",
        regex=r"(?i:twilio).{0,60}?\b(SK[0-9a-fA-F]{32})\b",
        keywords=("twilio",),
        entropy=3.0,
        secret_type="Twilio API Key",
        hint="Delete the API key in the Twilio Console (Account > API keys & tokens) and create a new one.",
        examples=(
            "TWILIO_API_KEY=SK2803148b820e332ab78e980e2b0a95db",
            "twilio_client = Client('SKa4c22d7716d7a216988a6022a5cd23fa', api_secret, account_sid)",
        ),
        counterexamples=(
            "TWILIO_API_KEY=SK4b00370b8879743be1a9",
            "TWILIO_API_KEY=SKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
        tags=("messaging", "sms"),
    ),
    Rule(
        id="twilio-auth-token",
        description="Twilio auth token or API key secret",
        regex=assigned("twilio", r"(?:auth[_.\-]?token|api[_.\-]?secret)", r"[0-9A-Za-z]{32}") + r"\b",
        keywords=("twilio",),
        entropy=3.0,
        hint="Rotate the auth token in the Twilio Console (promote the secondary token) or delete the API key.",
        examples=(
            "TWILIO_AUTH_TOKEN=ba06913a50bd654cc4e9de3f56f44218",
            'twilioApiSecret: "mIFrkN0OuHgglNJ5jdA5thsoPAl5BWRQ"',
        ),
        counterexamples=(
            "TWILIO_ACCOUNT_SID=AC0dacef0172314ec2402cb8f02681f4f7",
            "TWILIO_AUTH_TOKEN=your_auth_token",
        ),
        tags=("messaging", "sms"),
    ),
    Rule(
        id="messagebird-api-key",
        description="MessageBird (Bird) API access key",
        regex=assigned(r"message[_.\-]?bird", r"(?:access[_.\-]?|api[_.\-]?)?(?:key|token)", r"[A-Za-z0-9]{25}")
        + r"\b",
        keywords=("messagebird", "message_bird", "message-bird"),
        entropy=3.5,
        hint="Delete the access key in the MessageBird/Bird dashboard (Developers > API access) and create a new one.",
        examples=(
            "MESSAGEBIRD_API_KEY=eq1uASHrq8j2IEBuD8kPFYWnM",
            'messageBirdAccessKey: "HYOYIcGsFjX6V7xE7a3dqr00N"',
        ),
        counterexamples=(
            "MESSAGEBIRD_API_KEY=atoCqzlUI37J",
            "MESSAGEBIRD_ORIGINATOR=MyCompany",
        ),
        tags=("messaging", "sms"),
    ),
    Rule(
        id="vonage-api-secret",
        description="Vonage (Nexmo) API secret",
        regex=assigned(r"(?:vonage|nexmo)", r"(?:api[_.\-]?)?secret", r"[A-Za-z0-9]{16}") + r"\b",
        keywords=("vonage", "nexmo"),
        entropy=3.0,
        hint="Rotate the API secret in the Vonage API Dashboard (Settings > API keys).",
        examples=(
            "VONAGE_API_SECRET=hHwJlH8Xh2ln0mnK",
            "nexmo_secret: 'gAq2qwFsT1e0hzlx'",
        ),
        counterexamples=(
            "VONAGE_API_KEY=6f7bc533",
            "VONAGE_API_SECRET=GFvdxDeoZ4",
        ),
        tags=("messaging", "sms"),
    ),
    Rule(
        id="telnyx-api-key",
        description="Telnyx API v2 key",
        regex=r"(?i:telnyx).{0,60}?\b(KEY[0-9A-Z]{26}_[A-Za-z0-9]{22})\b",
        keywords=("telnyx",),
        entropy=3.5,
        hint="Delete the key in the Telnyx Mission Control Portal (Auth > API Keys) and create a new one.",
        examples=(
            "TELNYX_API_KEY=KEYI63W27QHNZNNLDAUA93CMBSFC6_FYtbpqInRs7B8FmgGKtTVm",
            "telnyx.api_key = 'KEYW9XJ5D9LT6OOEWOQKOQWZ4FBKD_fYwVM2JBusqatGXndc1HlU'",
        ),
        counterexamples=(
            "TELNYX_API_KEY=KEYZ74NUZL05Z_EULZAT5AYxs8H7zBUYgAei",
            "TELNYX_PUBLIC_KEY=F1D+oKkkbineVXu7qNP3hPGshoHDYyxndouXuqeFQM+t",
        ),
        tags=("messaging", "sms"),
    ),
    Rule(
        id="plivo-auth-token",
        description="Plivo auth token",
        regex=assigned("plivo", r"auth[_.\-]?token", r"[A-Za-z0-9]{40}") + r"\b",
        keywords=("plivo",),
        entropy=3.5,
        hint="Regenerate the auth token in the Plivo console (Account > Overview).",
        examples=(
            "PLIVO_AUTH_TOKEN=XNpNfeTs8Ojp1zgS6JKiMbkVU0nTXEEm5FN8h1ta",
            'plivoAuthToken: "np2hVkAClRnA5xkKOUKXhNvqu3cVNuXQQqXenGpL"',
        ),
        counterexamples=(
            "PLIVO_AUTH_ID=MADAH26FSRUA6C4XJHDX",
            "PLIVO_AUTH_TOKEN=e68FcWLmO0jBC9Ujvlp3",
        ),
        tags=("messaging", "sms"),
    ),
    # --- Push notifications ---------------------------------------------------------------
    Rule(
        id="onesignal-api-key",
        description="OneSignal REST API key",
        regex=r"\b(os_v2_app_[a-z0-9]{50,200})\b",
        keywords=("os_v2_",),
        entropy=3.5,
        hint="Rotate the key in the OneSignal dashboard (Settings > Keys & IDs).",
        examples=(
            "ONESIGNAL_REST_API_KEY=os_v2_app_soyumhkm4lfl7genrwwsjfxz2a6lw4i4plhgjwypncclnzqzt4a7exbteggsg7xfaob5indxwkcorado2xqeoim5lmn6irhkis6olh5csh2lklnfo",
            "headers = {'Authorization': 'Key os_v2_app_shrp2odo6nr4inwtqcnm7uneltgbry3f6fd3uuyeorcj4m3sbp7b4ruvim44orbpsl7yg6i3ime6cpqjjwh4k23cpfuzys4ud4xezx2hoe5h2jpup'}",
        ),
        counterexamples=(
            "ONESIGNAL_REST_API_KEY=os_v2_app_4gsjdgudapyroabwoymt",
            "ONESIGNAL_APP_ID=47006b8b-05db-f067-5ad6-2277712e1d5b",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="pushbullet-access-token",
        description="Pushbullet access token",
        regex=assigned("pushbullet", r"(?:access[_.\-]?|api[_.\-]?)?(?:token|key)", r"o\.[A-Za-z0-9]{32}") + r"\b",
        keywords=("pushbullet",),
        entropy=3.5,
        hint="Reset the access token in Pushbullet (Settings > Account) and update its users.",
        examples=(
            "PUSHBULLET_ACCESS_TOKEN=o.19QSwHmVsvUzN2sloRM1bt3vVWZMFjni",
            "pushbullet_api_key: 'o.sepGeiu0zaLFdhhUk2LHLBnkGf80YMKF'",
        ),
        counterexamples=(
            "PUSHBULLET_ACCESS_TOKEN=o.QPqo4aR91LH7",
            "PUSHBULLET_ACCESS_TOKEN=LeR2BHWHZboDNYY0NRnit9Cu6qz88tTG",
        ),
        tags=("messaging",),
    ),
)
