"""Chat, realtime and social APIs: bot tokens, webhook URLs and API keys.

A webhook URL is a credential in itself (whoever holds it can post as the
integration), so the whole URL is the secret. Tokens without a documented
prefix are matched only next to the provider's name and an assignment.
E-mail, SMS and push notification APIs are in ``notifications``.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_LINE, UUID, assigned

_SLACK_HINT = (
    "Revoke the token at api.slack.com/apps (OAuth & Permissions > Revoke) or with auth.revoke, then reinstall."
)

RULES: tuple[Rule, ...] = (
    # --- Slack ----------------------------------------------------------------------------
    Rule(
        id="slack-bot-token",
        description="Slack bot user OAuth token",
        regex=r"\b(xoxb-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{24,34})\b",
        keywords=("xoxb-",),
        entropy=3.0,
        secret_type="Slack Token",
        hint=_SLACK_HINT,
        examples=(
            "SLACK_BOT_TOKEN=xoxb-207835987251-3100110855818-LAryg8KqxBJY2r3dzpUhtqQw",
            'app = App(token="xoxb-94712613002-844627108074-MHS1fBsk3DYFX719Q6tSXQD3")',
        ),
        counterexamples=(
            "SLACK_BOT_TOKEN=xoxb-your-bot-token",
            "SLACK_BOT_TOKEN=xoxb-747845167206-3476281401853-qegNy0TNj2",
            "slack_token: xoxb-{{ .Values.slack.token }}",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="slack-user-token",
        description="Slack user OAuth token",
        regex=r"\b(xoxp-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[a-f0-9]{32})\b",
        keywords=("xoxp-",),
        entropy=3.0,
        secret_type="Slack Token",
        hint=_SLACK_HINT,
        examples=(
            "SLACK_USER_TOKEN=xoxp-279057414405-913271724549-0043207770742-9a5dd47069338395300511815378de52",
            "  token: 'xoxp-0817735927-47206596491-416384460388-d4b65c3f6baffd72703ba4156c171975'",
        ),
        counterexamples=(
            "SLACK_USER_TOKEN=xoxp-219413604642-906597087373-9144396249154-b4a6642136bda11b",
            "User tokens start with xoxp- and are tied to the installing user.",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="slack-app-token",
        description="Slack app-level token",
        regex=r"\b(xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,14}-[a-f0-9]{64})\b",
        keywords=("xapp-",),
        entropy=3.0,
        hint="Revoke the app-level token at api.slack.com/apps (Basic Information > App-Level Tokens).",
        examples=(
            "SLACK_APP_TOKEN=xapp-1-AKL2Y3X3CZB-5796572741883-ec75c7eccc103a0566c46ed57ede5b5a63f6b7ebef5d878b7ec637249cdaeaf4",
            'socket = SocketModeHandler(app, "xapp-1-A5RCUJ4UKNT-2815435995353-b61a86cd979151e5e82c3ec1c01f3ffdbbb3ec8dc78a618387f6cab832bf138b")',
        ),
        counterexamples=(
            "SLACK_APP_TOKEN=xapp-1-AIUH76N98CT-1023379982110-1c5884584dbc6404438b",
            "SLACK_APP_TOKEN=xapp-...",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="slack-config-token",
        description="Slack app configuration access token",
        regex=r"\b(xoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{100,200})\b",
        keywords=("xoxe.xox",),
        entropy=3.5,
        hint="Revoke the configuration token at api.slack.com/apps (Your App Configuration Tokens).",
        examples=(
            "SLACK_CONFIG_TOKEN=xoxe.xoxp-1-sjikkMYoeDxzMf0LGRbdl5Gcxq98mAClTYZE5BhmnO47W5nBaCVPofzF8FgQgp0DwlKJPXI7613kBEsml3hT4JvvscoRho4gImwM8cLROWlRUWZkcHWugzSLZIyAHaF6W3KJqwyoBXHp",
            '  "token": "xoxe.xoxb-1-nckCu9LcnGa3SUaBnTg8KfNUrlYhsX3LIy0RnR94X3oJmHGzXoeBT8jaTd2ygGDs4VcZcdudbRJIoulmASSE9VFhRzJxFTberpo0fRwXQD63NPP3xAM8f9R0bw1mhuKahwYce8Mi3E46Zq678NhMhQ"',
        ),
        counterexamples=(
            "SLACK_CONFIG_TOKEN=xoxe.xoxp-1-hjUXLJGHnni8yRmN4K3NrNjEa2tde1K0bDQCfysQ",
            "SLACK_CONFIG_TOKEN=xoxe.xoxp-1-...",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="slack-refresh-token",
        description="Slack token rotation refresh token",
        regex=r"\b(xoxe-[0-9]-[A-Za-z0-9]{100,200})\b",
        keywords=("xoxe-",),
        entropy=3.5,
        hint="Revoke the app's tokens at api.slack.com/apps and reinstall to issue a new refresh token.",
        examples=(
            "SLACK_REFRESH_TOKEN=xoxe-1-hLWVzP1WVboxqPLRXu3XJGi5t3VRTijWw7jwKhmDj3dfEebW0NKHMjZoYnNltiNjKZGh9fp9nTCAb8UsaZiOrh7K3xTf1WbvG4xXOPaOsdAHsCHw3BSG3XsNEFhokzprrvQldtL3DHxj9P4NBE",
            "refresh_token: 'xoxe-1-J0wu4wRi2APLRlve0IR2CwNnA8WeNbWmexJBWwIqQzIHRZCPGo3pvk6VXtNIWiy3UXUeCwvWshMwrn7ZN0pfZc8Ti5W548Jkee8xsTBhGNIHsh1vTDGZOSWh'",
        ),
        counterexamples=(
            "SLACK_REFRESH_TOKEN=xoxe-1-6EBkltJFpV3JMwmoeMKeYOnK9QiCiH",
            "SLACK_REFRESH_TOKEN=xoxe-1-xxxxxxxxxx",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="slack-legacy-token",
        description="Slack legacy, workspace or refresh token (xoxa-, xoxo-, xoxs-, xoxr-)",
        regex=r"\b(xox[aors]-[0-9]{1,14}(?:-[0-9A-Za-z]{1,64}){2,4})\b",
        keywords=("xoxa-", "xoxo-", "xoxs-", "xoxr-"),
        entropy=3.5,
        secret_type="Slack Token",
        hint=_SLACK_HINT,
        examples=(
            "SLACK_TOKEN=xoxs-754870787117-749314639220-908643938262-4057a8bf4d18b9bcb130f2e483d83cea8e74d47b68f56a6c7d94b4e34d18fa1a",
            "token = 'xoxa-2-831325649068-348287329824-ebc1a4bdb96c1b53f1d013aea77bef97'",
        ),
        counterexamples=(
            "SLACK_TOKEN=xoxs-1-2-3",
            "SLACK_TOKEN=xoxo-your-token-here",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="slack-webhook-url",
        description="Slack incoming webhook or workflow trigger URL",
        regex=(
            r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{8,12}/[AB][A-Z0-9]{8,12}/"
            r"(?:[0-9]{6,20}/)?[A-Za-z0-9]{20,40})\b"
        ),
        keywords=("hooks.slack.com",),
        entropy=3.5,
        secret_type="Slack Token",
        hint="Remove the webhook at api.slack.com/apps (Incoming Webhooks) and create a new one.",
        examples=(
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/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",
            'webhook: "https://hooks.slack.com/workflows/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"',
        ),
        counterexamples=(
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/...",
        ),
        tags=("messaging",),
    ),
    # --- Chat apps ------------------------------------------------------------------------
    Rule(
        id="discord-bot-token",
        description="Discord bot token",
        regex=r"\b([MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})" + END_LINE,
        keywords=("discord", "bot_token", "bottoken", "bot.run", "client.run", "client.login"),
        entropy=3.5,
        secret_type="Discord Bot Token",
        hint="Reset the token in the Discord Developer Portal (Bot > Reset Token).",
        examples=(
            "DISCORD_BOT_TOKEN=MTXMeXqP59oaK4NwOLiWGsQvR3.HxetWw.PllRgdNhpDnbxBNypr8DBMF4LJpejrzmUKFJit",
            "client.run('NzuEaodTTDoZzDYL66UhqgfP.ZC7Ztn.kiMLHjYWPl2orSfIFFCkd9iqcaG')",
        ),
        counterexamples=(
            "DISCORD_BOT_TOKEN=your.bot.token",
            "DISCORD_BOT_TOKEN=MTjPOLWeLldEJd25zNz4qoLuAJ.zIBYcc.yQSz9gex0h",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="discord-webhook-url",
        description="Discord webhook URL",
        regex=r"(https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v[0-9]{1,2})?/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,68})"
        + END_LINE,
        keywords=("discord.com/api", "discordapp.com/api"),
        entropy=3.5,
        hint="Delete the webhook in the channel's settings (Integrations > Webhooks) and create a new one.",
        examples=(
            "DISCORD_WEBHOOK=https://discord.com/api/webhooks/7432668332421410758/ZBwo_uBIXwKMH8j3fyE3b3yHLrYlkS3WscA3gPvCberWU9I_-wlbPpFPNUzmU6_--PSZ",
            "url: 'https://discordapp.com/api/webhooks/039730373063223221/sBlavsRN48qwMp7FkqhNkoWelDCf6xYAfSxwI6LCFF8WXVzvYRs5w4p7KPozNAXP7yfq'",
        ),
        counterexamples=(
            "DISCORD_WEBHOOK=https://discord.com/api/webhooks/{id}/{token}",
            "DISCORD_WEBHOOK=https://discord.com/api/webhooks/2970564586329546032/zjkif7h64KMaMh8dpiGq",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="telegram-bot-token",
        description="Telegram Bot API token",
        regex=r"(?:\bbot|\b)([0-9]{8,10}:[A-Za-z0-9_\-]{35})" + END_LINE,
        keywords=("telegram", "bot_token", "bottoken", ":aa"),
        entropy=3.5,
        secret_type="Telegram Bot Token",
        hint="Revoke the token with @BotFather (/revoke) and update the bot's configuration.",
        examples=(
            "TELEGRAM_BOT_TOKEN=6999010392:AAeUPAfSHgNSbX3T99Eq7LsRoLr4Q3Wx0tv",
            'requests.get("https://api.telegram.org/bot174148296:AAtTXtHovqnbAM8UrVUb3Rj8FjwvG2JdgOp/getMe")',
        ),
        counterexamples=(
            "TELEGRAM_BOT_TOKEN=123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
            "TELEGRAM_BOT_TOKEN=3008894028:AAwHspoE8JM0MG",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="msteams-webhook-url",
        description="Microsoft Teams incoming webhook URL",
        regex=(
            r"(https://(?:[A-Za-z0-9\-]{1,60}\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/"
            + UUID
            + "@"
            + UUID
            + r"/IncomingWebhook/[0-9a-f]{32}/"
            + UUID
            + r"(?:/[A-Za-z0-9_\-]{30,80})?)"
        ),
        keywords=("webhook.office.com", "outlook.office.com/webhook", "outlook.office365.com/webhook"),
        entropy=3.0,
        hint="Remove the Incoming Webhook connector from the Teams channel and configure a new one.",
        examples=(
            "TEAMS_WEBHOOK=https://contoso.webhook.office.com/webhookb2/c5cfaa16-2e5a-afce-f2da-1693a16e7fd9@cad90221-bb6c-3a96-cc3a-394254ad2729/IncomingWebhook/e2e9d2335a8947f238d32abda4df81d4/8a2ff45e-2eeb-0bf6-56f7-a105f206b2fa/V2Io-nTCRif1A6hD4JVeKh1vDjToKviAO-_59DW3_vU00h",
            'url: "https://outlook.office.com/webhook/c0f25835-c17a-8e06-114f-495debc2479e@a69cbdb2-3f8c-9390-a67d-5fe14b7e2268/IncomingWebhook/a72ad0ff11fdfe411ccaa98428bcf6f7/c57f2bd1-b777-602e-de48-6f21223ff66c"',
        ),
        counterexamples=(
            "TEAMS_WEBHOOK=https://contoso.webhook.office.com/webhookb2/...",
            "See https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/ for webhook.office.com setup.",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="mattermost-access-token",
        description="Mattermost personal access or bot token",
        regex=assigned("mattermost", r"(?:access[_.\-]?|personal[_.\-]?|bot[_.\-]?)?token", r"[a-z0-9]{26}") + r"\b",
        keywords=("mattermost",),
        entropy=3.5,
        hint="Revoke the token in Mattermost (Profile > Security > Personal Access Tokens, or the bot account).",
        examples=(
            "MATTERMOST_TOKEN=jjv74t5s4nf0tnmefedrkeyk94",
            'mattermost_bot_token: "t30lp8j4upbo6swyxzibewz8bc"',
        ),
        counterexamples=(
            "MATTERMOST_TOKEN=sek0hncjqmkp",
            "MATTERMOST_URL=https://chat.example.com",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="line-channel-access-token",
        description="LINE Messaging API channel access token",
        regex=assigned(
            r"line[_.\-]?(?:messaging[_.\-]?|bot[_.\-]?)?channel",
            r"access[_.\-]?token",
            r"[A-Za-z0-9+/]{100,200}={0,2}",
        ),
        keywords=("line_channel", "linechannel", "line-channel", "line.channel", "line_bot_channel", "line_messaging"),
        entropy=3.5,
        hint="Reissue the channel access token in the LINE Developers Console (Messaging API tab).",
        examples=(
            "LINE_CHANNEL_ACCESS_TOKEN=53qqO43vH8ZI3AxGrhOxe5oYOGVlabj9lPvX9wn8Pum0BSMoSR6nJuHRT4K4Qp4PDKdXQM6++s67bP9ldQ0h4Ab3H+D+0rrU8/53rUIa4GVDJzA5EvsbkJzBEA98qDvPompq79qGQtVUATZn7f3vP8IXaRw3rlZz0qKbcMnCTdM=",
            'lineChannelAccessToken: "uPwZLpikpnXiA6lxqm5GDIdQRNrIgkLo7DikWYN0WVP2L4zjDUq13dRbWapqbTSpjwIZ216XgOcmYEQHBdaL9GiSyIXv4On9KfJtKPnLiIvnzPar07l9O89nENldV3Uy8ReVpsdy0jSTjtCKxkRBI2xayWyY1Tzl"',
        ),
        counterexamples=(
            "LINE_CHANNEL_ACCESS_TOKEN=NNxq8eNc9oYfkr4BDmx57QKyBzyH7ywCQPO8W9wS",
            "LINE_CHANNEL_ID=4601908039",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="line-channel-secret",
        description="LINE channel secret",
        regex=assigned(r"line[_.\-]?(?:messaging[_.\-]?|bot[_.\-]?)?channel", r"secret", r"[0-9a-f]{32}") + r"\b",
        keywords=("line_channel", "linechannel", "line-channel", "line.channel", "line_bot_channel", "line_messaging"),
        entropy=3.0,
        hint="Reissue the channel secret in the LINE Developers Console (Basic settings).",
        examples=(
            "LINE_CHANNEL_SECRET=743f688eb30c77c93ac578ec1281cddb",
            "line_channel_secret: '8b61d8aed7777e93cc490e3ae14637ec'",
        ),
        counterexamples=(
            "LINE_CHANNEL_SECRET=7fe1870f6dc7489b",
            "LINE_CHANNEL_SECRET=your_channel_secret",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="sendbird-api-token",
        description="Sendbird API token",
        regex=assigned("sendbird", r"(?:api[_.\-]?|master[_.\-]?)?token", r"[0-9a-f]{40}") + r"\b",
        keywords=("sendbird",),
        entropy=3.0,
        hint="Revoke the API token in the Sendbird dashboard (Settings > Application > General) and create a new one.",
        examples=(
            "SENDBIRD_API_TOKEN=20dfb07ed1e0a0ed9e93997058510a66d98c1650",
            'sendbirdMasterToken: "b118225655a7779c692f8f4b453007e46d68864f"',
        ),
        counterexamples=(
            "SENDBIRD_APP_ID=ETCN4EKH-JMY2",
            "SENDBIRD_API_TOKEN=4218fe6bd10114de1e3d",
        ),
        tags=("messaging",),
    ),
    # --- Realtime -------------------------------------------------------------------------
    Rule(
        id="pusher-app-secret",
        description="Pusher Channels app secret",
        regex=assigned("pusher", r"(?:app[_.\-]?)?secret", r"[0-9a-f]{20}") + r"\b",
        keywords=("pusher",),
        entropy=3.0,
        hint="Create a new key pair for the app in the Pusher dashboard (App Keys) and delete the old one.",
        examples=(
            "PUSHER_APP_SECRET=a3ef52daa56fd1ff27be",
            "pusher_secret: '85b920685149c24ac982'",
        ),
        counterexamples=(
            "PUSHER_APP_KEY=83e9fe9a79737a4561d8",
            "PUSHER_APP_SECRET=e019a02cd828",
        ),
        tags=("messaging",),
    ),
    Rule(
        id="ably-api-key",
        description="Ably API key",
        regex=r"(?i:\bably).{0,60}?\b([A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{6}:[A-Za-z0-9_\-]{43})" + END_LINE,
        keywords=("ably",),
        entropy=3.5,
        hint="Revoke the key in the Ably dashboard (app > API Keys) and create a new one.",
        examples=(
            "ABLY_API_KEY=OhGnsH.9aHwHV:58_gygBU3VDSZpcPQtAfRxcheEL19fr9dmeTuAMmKH1",
            "const ably = new Ably.Realtime('WO89nF.0Azrr5:rPUjL5MW75YcjcUmeFgYY8Zqln3J4amaf2E7fd4mkHk');",
        ),
        counterexamples=(
            "ABLY_API_KEY=bVCMQR.D9uI50:Vdv40yfF0h",
            "This probably fails: tAQjlL.o0cWVd:MUtSWAsyNiaUT4EJgOjmkjpHMHuiX98E95W2MZrnNuV",
        ),
        tags=("messaging",),
    ),
    # --- Social networks ------------------------------------------------------------------
    Rule(
        id="twitter-bearer-token",
        description="Twitter/X API app-only bearer token",
        regex=r"(?:(?m:^)|[^A-Za-z0-9+/%])(A{20,24}[A-Za-z0-9%]{70,110})(?:[^A-Za-z0-9+/=%]|(?m:$))",
        keywords=("aaaaaaaaaaaaaaaaaaaa",),
        entropy=3.5,
        hint="Regenerate the bearer token in the X Developer Portal (Keys and tokens).",
        examples=(
            "TWITTER_BEARER_TOKEN=AAAAAAAAAAAAAAAAAAAAAwnETgFdGxYSfniQiqKkK5nUTEGX1n9%3Ds7TfLkdRsSsViKdxwhF2sT04FZwCZh9aPAqgT3NG3uL6D93JUGDSUfSB8v",
            "headers = {'Authorization': 'Bearer AAAAAAAAAAAAAAAAAAAAAUkqchplpu3nIcADzOm2BdNClOrVS3rcpjMRcXYsp2X74nzcEuHLSdEKxHMyKHxYLOV1zwmmT7OM0JvMqnnKNFkl74cl'}",
        ),
        counterexamples=(
            "TWITTER_BEARER_TOKEN=AAAAAAAAAAAAAAAAAAAAAtHfvI55HIHyOUWS9kkct",
            "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAoDCrllq6TDcnVCDGT6wpKloO0qMLDUM9mlmh1OoYCoHVKHmbmgnOSY/TE6jn73BZGVAYcbfLXgAo6A5VO+MK0wwBJtpjdx8XcpPweJyGhFf+siAoR/xtJpVI",
        ),
        tags=("messaging", "social"),
    ),
    Rule(
        id="twitter-api-secret",
        description="Twitter/X API consumer secret or access token secret",
        regex=assigned("twitter", r"(?:api|consumer|access[_.\-]?token)[_.\-]?secret", r"[A-Za-z0-9]{45,50}") + r"\b",
        keywords=("twitter",),
        entropy=3.5,
        hint="Regenerate the API key and secret (or access token and secret) in the X Developer Portal.",
        examples=(
            "TWITTER_API_SECRET=mD76e7DVzwe5DHkAka63fY6WcuEa1OG8CcVjWTzdbR40VZKy55",
            "twitter_access_token_secret: 'oCXfeNuVHdfiTal0gALMXO0mE0ncJw6Gubsgl4aDO9r6J'",
        ),
        counterexamples=(
            "TWITTER_API_KEY=Dhjr120waFpzrAg4K3rTy7Br4",
            "TWITTER_API_SECRET=TyIoTO6GIgoYFQFZzQni",
        ),
        tags=("messaging", "social"),
    ),
    Rule(
        id="facebook-access-token",
        description="Facebook/Meta Graph API access token",
        regex=r"\b(EAA[A-Za-z0-9]{90,400})\b",
        keywords=("eaa",),
        entropy=3.5,
        hint="Invalidate the token (change the app secret or remove the app's access) in Meta for Developers.",
        examples=(
            "FB_ACCESS_TOKEN=EAAGcJjPNJGU5gXKP37gB3q0CtXJABGLVCQaMo0bp7Z2UaU0XK91FikooVrddyOeHgKo0PZ9EVZiGP1bFdqFBdlB2ClwnxE19Sr5YdDCvlpEUAE47wPJho3GMqW1HHxYY5iRMu66DzpbxmmNyfnW5HV0SCLzFpqQ0nSvxzEJ3YmBfygJiP1Oh4Dj",
            "graph = facebook.GraphAPI(access_token='EAABd86yIcJWUt3mPk316wkkVEj6OzhWfUQ7Fe7KiPWYXvNJkkroAy5FRlXsq6C4tfguCDCjaYR0TVUI4UEnx5wSeRKekDOnefGuGtWhQ19btnizfjgSS0cbyJU3')",
        ),
        counterexamples=(
            "FB_ACCESS_TOKEN=EAAGhgLUxMoAYM9e15Vy1QM46Hw4OJnqnWrmlCNFlVnW",
            "FB_ACCESS_TOKEN=EAAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
        tags=("messaging", "social"),
    ),
    Rule(
        id="facebook-app-secret",
        description="Facebook/Meta app secret",
        regex=assigned(r"(?:facebook|\bfb)", r"(?:app[_.\-]?|client[_.\-]?)?secret", r"[0-9a-f]{32}") + r"\b",
        keywords=("facebook", "fb_", "fb-", "fbapp"),
        entropy=3.0,
        hint="Reset the app secret in Meta for Developers (App settings > Basic).",
        examples=(
            "FACEBOOK_APP_SECRET=21b3c74a95bc55779d2a71f828bd1096",
            "fb_client_secret: 'c32f8cef31872dad5dc2eafc4019aade'",
        ),
        counterexamples=(
            "FACEBOOK_APP_ID=229540938438820",
            "FACEBOOK_APP_SECRET=6fe9ac7adb071313",
        ),
        tags=("messaging", "social"),
    ),
)
