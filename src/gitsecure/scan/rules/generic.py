"""Generic rules: a secret-looking value assigned to a secret-looking name.

These rules have no provider format to lean on, so they are where false
positives come from, and most of this module is the filtering. The strategy,
in the order a candidate meets it:

1. **Shape.** The name must contain a secret word (key, secret, token,
   password, credential, auth, api...) and be followed by an assignment
   operator (``=``, ``:``, ``:=``, ``=>``) as written in YAML, JSON, INI, env
   files, shell and code. The value's character class leaves out ``$ { } ( )
   < > [ ] * @ %`` and spaces, and the value must end at a quote, a separator
   or the end of the line, so templates (``${VAR}``, ``{{ .Values.x }}``,
   ``${{ secrets.X }}``), placeholders (``<password>``), masks (``****``),
   calls (``getSecret()``), lookups (``os.environ["X"]``) and URLs
   (``https://...``) never match in the first place.
2. **Entropy.** ``generic-api-key`` needs more than 3.5 bits per character
   over at least 16 characters, which drops words, identifiers and sequences;
   ``generic-password`` accepts people's passwords (more than 2.5 bits, six
   characters or more) and compensates with stricter filters.
3. **Names that are not secrets** (allow regexes on the whole match):
   ``public_key``, ``keyPress``, ``primary_key``, ``credentialsId``,
   ``tokenizer``, ``max_tokens``, ``passwordPolicy``, ``secretName``,
   ``secretKeyRef``, ``authType``, ``api_version``... and names that label a
   digest (``sha256``, ``checksum``, ``integrity``, ``fingerprint``).
4. **Values that are not secrets** (allow regexes anchored at the end of the
   match): dotted code references (``process.env.API_KEY``,
   ``config.secretKey``), identifiers in camelCase or snake_case, file paths
   and key-file names, version strings, letters-only words, booleans/null.
5. **Stop words** in the value: ``example``, ``sample``, ``dummy``,
   ``placeholder``, ``changeme``, ``redacted``, ``xxxx``, ``your``...

Both ids contain "generic", so a provider rule whose match overlaps wins and
the generic finding is dropped.
"""

from __future__ import annotations

from gitsecure.scan.rule import SECRET_KEYWORD, Rule

# What may follow a value: a quote, whitespace, a separator, an escaped quote, or the end.
_TAIL = r"[\"'`\s;,)\]}<&\\]?$"
# What may precede a value: an operator, whitespace or an opening quote.
_LEAD = r"[=:\s\"'`]"

_NOT_SECRET_NAMES = (
    r"(?i)public[_.\-]?key|publishable|pub[_.\-]key",
    r"(?i)key[_.\-]?(?:press|down|up|code|board|stroke|words?|name|id|type|size|path|file|store|ring|alias|spec|ref|pair|len(?:gth)?|prefix|usage|format|event|binding|map|field|column|version|vault|index|frame|note)",
    r"(?i)(?:primary|foreign|partition|sort|cache|idempotency|routing|lookup|i18n|translation|hot|object|map|row|s3|dedup(?:lication)?)[_.\-]?key",
    r"(?i)(?:mon|tur|hoc|don|joc)key",
    r"(?i)credentials?[_.\-]?(?:id|type|name|file|path|provider|helper|source|process|store)",
    r"(?i)tokeni[sz]|(?:max|min|num|total|prompt|completion)[_.\-]?tokens?|token[_.\-]?(?:type|url|uri|endpoint|path|file|name|expir\w*|ttl|len(?:gth)?|count|limit|kind|usage|budget|index|ids?)",
    r"(?i)passw(?:or)?d[_.\-]?(?:policy|length|len|min|max|field|label|hint|reset|rules?|regex|pattern|file|path|strength|confirm\w*|expir\w*|hash\w*|input|prompt|placeholder|validator|changed|required|enabled|visible|toggle|manager|salt|(?:secret)?ref|selector|from|env|var)",
    r"(?i)secret[_.\-]?(?:name|ref|key[_.\-]?ref|store|path|arn|id|version|manager|provider|engine|file|namespace|mount|backend|type|selector)|secretkeyref|secretsmanager|existingsecret",
    r"(?i)auth[_.\-]?(?:type|method|mode|url|uri|endpoint|provider|domain|scheme|header|flow|strategy|server|path|realm|enabled|required|plugin)|author\b|author[_.\-]|authority|authorization[_.\-]?(?:url|endpoint|code)",
    r"(?i)api[_.\-]?(?:version|url|uri|endpoint|base|host|path|group|server|gateway|name|docs?|spec|prefix|root|domain|port|timeout)",
    r"(?i)(?:sha(?:1|256|384|512)?|checksum|digest|hash|integrity|etag|fingerprint|nonce|uuid|guid|commit|revision)[\w.\-]{0,20}[\"'\]]{0,2}\s{0,5}(?::=|=>|=|:)",
    r"(?i)(?:by|com|sur|over|under|tres|get)pass\b",
)
_NOT_SECRET_VALUES = (
    # Dotted code references: process.env.API_KEY, config.secretKey, a.b.c.
    _LEAD + r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\.?" + _TAIL,
    # Identifiers: camelCase, PascalCase, snake/kebab words without digits, CONSTANTS.
    _LEAD + r"[a-z]+(?:[A-Z][a-z0-9]+)+" + _TAIL,
    _LEAD + r"(?:[A-Z][a-z]+){2,}" + _TAIL,
    # Type names with acronyms and versions: V1JSONSchemaProps, V1DownwardAPIVolumeSource.
    _LEAD + r"(?:[A-Z0-9]{0,6}[A-Z][a-z]{2,}){2,}[A-Z0-9]{0,6}" + _TAIL,
    _LEAD + r"_*[A-Za-z]+(?:[_\-]+[A-Za-z]+)+" + _TAIL,
    _LEAD + r"_+[A-Za-z]+" + _TAIL,
    # snake_case and UPPER_SNAKE identifiers with digits: open_apiv3_schema, PKCS8_PRIV_KEY.
    _LEAD + r"_*[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)+" + _TAIL,
    _LEAD + r"_*[A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)+" + _TAIL,
    # Letters only (words, booleans, null) and paths / key-file names.
    _LEAD + r"[A-Za-z]+" + _TAIL,
    _LEAD + r"(?:\.{0,2}/|~/)[\w.\-/]+" + _TAIL,
    # Label and annotation keys, image and host paths: example.com/name, registry.io/org/app.
    _LEAD + r"[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}/[a-z0-9.\-/_]+" + _TAIL,
    r"(?i)"
    + _LEAD
    + r"[\w.\-/]+\.(?:pem|key|crt|cer|p12|pfx|json|ya?ml|txt|env|pub|jks|keystore|der|properties|conf|cfg|ini|toml|xml|js|ts|py|rb|go|java)"
    + _TAIL,
    # Version strings.
    _LEAD + r"v?\d+(?:\.\d+){1,3}(?:[\-+.][\w.\-]+)?" + _TAIL,
    # Masks, printf placeholders, Ansible vault tags, SOPS.
    _LEAD + r"[*xX.#•]+" + _TAIL,
    _LEAD + r"%\(?\w*\)?[sdv]" + _TAIL,
    r"!vault|ENC\[",
)
_STOPWORDS = (
    "example",
    "sample",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "redacted",
    "xxxx",
    "your_",
    "your-",
    "yourpass",
    "yourkey",
    "yoursecret",
    "fake",
    "mock",
    "lorem",
    "todo",
    "replace",
    "insert",
    "0000000",
    "1234567",
)

# The name parts around the keyword are unbounded (``*?``), not counted (``{0,40}?``): a counted
# repeat multiplies RE2's automaton states, and this pattern runs over more text than any other
# (measured on the 80 MB bench tree: 0.63 s against 0.17 s, the same 721 matches). The engine's
# windows already bound how far a match can reach.
RULES: tuple[Rule, ...] = (
    Rule(
        id="generic-api-key",
        description="Generic secret (high-entropy value assigned to a key/secret/token name)",
        regex=(
            r"(?i)\b[\w.\-]*?(?:key|secret|token|passw(?:or)?d|passwd|pwd|credential|auth|api)[\w.\-]*?"
            r"[\"'\]]{0,2}[ \t]{0,5}(?::=|=>|=|:|\|\|=)[ \t]{0,5}[\"'`]?([A-Za-z0-9+/_.=~\-]{16,256})(?:[\"'`\s;,)\]}<&\\]|$)"
        ),
        keywords=("key", "secret", "token", "passw", "pwd", "credential", "auth", "api"),
        entropy=3.5,
        allow_regexes=_NOT_SECRET_NAMES + _NOT_SECRET_VALUES,
        allow_target="match",
        stopwords=(*_STOPWORDS, "test"),
        secret_type=SECRET_KEYWORD,
        hint="move the value to a secret store or environment variable, rotate it, and remove it from history",
        examples=(
            'api_key = "wXKnpFk2W8XCo8on4HcgBQrigEt9EIaq"',
            "  client_secret: kyYbMg-T4QEPmF5XGpTkSQKlaqR01d05R2rdsMts",
            '{"accessToken": "2828lWb1s/eNbVPngVGjSEzDk2jor3NX/Yy/W/6N85WC"}',
            "export SERVICE_AUTH_TOKEN=XwTFXoxa40WjBdEp3ihmt4xSFYl8My7ELZpsa3sM",
            "$config['encryption_key'] = 'PwQpFmJBI4UNsDTTPjfp6v35XKqOgVNg';",
        ),
        counterexamples=(
            'public_key = "vTNEzVCVef1GWZ8vEcwNXYz11OX2ggOT"',
            "keyPress: VCj8GkL5LLlQc1ibO1Zt",
            '"credentialsId": "IDcRwL3gcoKSIgKfKBfVE6Fx"',
            "tokenizer = t25R5kTRmTprUhmZU6vs",
            "passwordPolicy: vVf8U4vdYvCR41UDt9wl",
            "api_key = process.env.OPENAI_API_KEY_PROD",
            'secret = getSecret("sALIArpELwGdXhI2C7J1")',
            'api_key = os.environ["SERVICE_API_KEY"]',
            "api_key: ${SERVICE_API_KEY}",
            'token: "{{ .Values.token }}"',
            "secretName: app-tls-certificate-prod",
            "      secretKeyRef: {name: db, key: password}",
            "api_key_sha256: 08c4657518bb11ec7645bb727d6b90409a55aa11cf17f122861b36f910762e96",
            "auth_provider_x509_cert_url: https://www.googleapis.com/oauth2/v1/certs",
            "secret_file: /etc/app/secrets/service-account.json",
            "api_version: 2024.01.15-beta.3",
            'KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"',
            "        self.key = '_threading_local._localimpl.' + str(id(self))",
            "        'open_apiv3_schema': 'V1JSONSchemaProps'",
            "            self.open_apiv3_schema = open_apiv3_schema",
            "PKCS8_PRIV_KEY_INFO = pkcs8_priv_key_info_st",
            "        :type downward_api: V1DownwardAPIVolumeSource",
            "enable_auth: false",
            "authorizationEndpointUrlForTheProvider: yes",
            'api_key = "kp2VlhyKwakdexample9cWLhOrSUfjm"',
        ),
    ),
    Rule(
        id="generic-password",
        description="Generic password (literal value assigned to a password name)",
        regex=(
            r"(?i)\b[\w.\-]*?(?:passw(?:or)?d|passwd|pwd|passphrase|pass\b)[\w.\-]*?"
            r"[\"'\]]{0,2}[ \t]{0,5}(?::=|=>|=|:)[ \t]{0,5}"
            r"(?:[\"'`]([^\s\"'`$<>{}]{6,128})[\"'`]|([^\s\"'`$<>{}()\[\]#;,]{6,128})(?:\s|$))"
        ),
        keywords=("passw", "pwd", "pass"),
        entropy=2.5,
        allow_regexes=_NOT_SECRET_NAMES + _NOT_SECRET_VALUES,
        allow_target="match",
        stopwords=(*_STOPWORDS, "password", "passwd", "secret", "test"),
        secret_type=SECRET_KEYWORD,
        hint="change the password, load it from a secret store or the environment, and remove it from history",
        examples=(
            'password = "y8MI9i!aQqYu"',
            "  db_password: pa9WL@sAOsyi",
            "DB_PASS=788x*1nIoMD",
            'String pwd = "5CRDh#Zla8";',
        ),
        counterexamples=(
            'password = "password123"',
            "password: ${DB_PASSWORD}",
            "password: <%= ENV['DB_PASSWORD'] %>",
            "password = get_password()",
            'password = os.environ["DB_PASSWORD"]',
            "db_password: !vault |",
            'password: "ENC[AES256_GCM,data:sbq6dPpr0nyGXYbu,type:str]"',
            "password: ********",
            "POSTGRES_PASSWORD=postgres",
            "passwordLabel: Enter",
            "bypass: enabled-for-ci",
            "password_min_length: 12",
            "password: required",
            "        getpass.getpass = _getpass",
            "class ShrinkPass:\n    function: Any",
            "password = _secret_from_vault",
        ),
    ),
)
