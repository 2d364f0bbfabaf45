"""Database and service connection strings with an inline password.

The secret is the password alone (not the whole URI), so rotating the host or
the user name does not make a baselined finding new. Every rule drops the
values that are not passwords: ``${VAR}``/``$VAR``/``{{ }}`` templates,
``<password>``-style placeholders, masks (``****``), and well-known defaults
that documentation and local compose files use (``password``, ``postgres``,
``changeme``...). A committed local-development password is still a finding
when it is not one of those.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule

# user:password@ in a URI; the user part may be empty (redis://:pw@host).
_USER = r"[^:@/\s\"'<>]{0,64}"
_PASS = r"([^@/\s\"'<>]{1,128})"
_HOST = r"@[A-Za-z0-9\[][A-Za-z0-9.\-_\[\]:%]{0,252}"
# Values that are not real passwords: templates, placeholders, masks, defaults.
_NOT_A_PASSWORD = (
    r"^\$\{[^}]*\}?$",
    r"^\$[A-Za-z_][A-Za-z0-9_]*$",
    r"^\$\(",
    r"^\{\{.*\}?\}?$",
    r"^%[sv(]|^%\(",
    r"^<[^>]*>?$",
    r"^\[[^\]]*\]$",
    r"^[*xX.#•]+$",
    r"(?i)^(?:pass(?:word)?\d*|passwd|pwd|secret|changeme|change_me|example|test|testing|guest|admin|root|user|username|"
    r"postgres|mysql|mongo|redis|rabbitmq|sa|default|dummy|none|null|your[_\-]?pass(?:word)?|mypassword|mysecretpassword)$",
)
_URI_HINT = "change the password on the server, then read it from the environment or a secret store instead of the URI"


def _uri(rule_id: str, schemes: str, keywords: tuple[str, ...], what: str, examples: tuple[str, ...]) -> Rule:
    return Rule(
        id=rule_id,
        description=f"{what} connection URI with a password",
        regex=r"(?i)\b(?:" + schemes + r")://" + _USER + ":" + _PASS + _HOST,
        keywords=keywords,
        entropy=1.5,
        allow_regexes=_NOT_A_PASSWORD,
        secret_type="Basic Auth Credentials",
        hint=_URI_HINT,
        examples=examples,
        counterexamples=(
            f"url: {keywords[0].rstrip(':/')}://app:${{DB_PASSWORD}}@db.internal:5432/app",
            f"{keywords[0].rstrip(':/')}://user:<password>@host/db",
            f"{keywords[0].rstrip(':/')}://postgres:postgres@localhost/app",
            f"{keywords[0].rstrip(':/')}://db.internal:5432/app",
        ),
    )


RULES: tuple[Rule, ...] = (
    _uri(
        "postgres-uri-password",
        r"postgres(?:ql)?(?:\+[a-z0-9]+)?",
        ("postgres://", "postgresql://", "postgresql+"),
        "PostgreSQL",
        (
            "DATABASE_URL=postgres://app:L67TrA6JE1I.y8gq+Y@db.prod.internal:5432/app",
            'SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://svc:0EoNcIYeMzkAtWy9eR1X5Q4M@10.0.3.7/orders"',
        ),
    ),
    _uri(
        "mysql-uri-password",
        r"mysql(?:x)?(?:\+[a-z0-9]+)?|mariadb(?:\+[a-z0-9]+)?",
        ("mysql://", "mysql+", "mysqlx://", "mariadb://", "mariadb+"),
        "MySQL / MariaDB",
        (
            "DB_URL=mysql://wp:cOOmURNaSeO*%N!l@mysql.internal:3306/wordpress",
            "url: mysql+pymysql://reporting:ChWKrZeKuBonwchbF6ri@rds.amazonaws.com/reports",
        ),
    ),
    _uri(
        "mongodb-uri-password",
        r"mongodb(?:\+srv)?",
        ("mongodb://", "mongodb+srv://"),
        "MongoDB",
        (
            'MONGO_URL="mongodb+srv://api:xy4NYgVMH2kknaaMfzq8@cluster0.ab12c.mongodb.net/prod?retryWrites=true"',
            "uri: mongodb://root:LU2psVT6UVZ%lV@mongo-0.mongo:27017,mongo-1.mongo:27017/admin",
        ),
    ),
    _uri(
        "redis-uri-password",
        r"rediss?",
        ("redis://", "rediss://"),
        "Redis",
        (
            "REDIS_URL=redis://:yDMl646dJmgJYZAPmRerkTXXgThwf3FZ@cache.internal:6379/0",
            'CELERY_BROKER_URL = "rediss://default:pL1laXIWicWkIaXbgAax8MbY@redis-123.cloud.redislabs.com:16379"',
        ),
    ),
    _uri(
        "amqp-uri-password",
        r"amqps?",
        ("amqp://", "amqps://"),
        "AMQP (RabbitMQ)",
        (
            "BROKER_URL=amqp://worker:Ih9gmkn%rUxZEe#r@rabbitmq.internal:5672/jobs",
            'amqp_url: "amqps://svc:G440CxzRB99fWEb0EDCbGB@b-1234.mq.eu-west-1.amazonaws.com:5671"',
        ),
    ),
    _uri(
        "sqlserver-uri-password",
        r"sqlserver|mssql(?:\+[a-z0-9]+)?",
        ("sqlserver://", "mssql://", "mssql+"),
        "SQL Server",
        (
            "DATABASE_URL=sqlserver://app:rjt-8O.Z%M.BJC!k@sql.internal:1433?database=erp",
            'engine = create_engine("mssql+pyodbc://etl:cgAoGIBLmFrLttEWYim1@dsn_prod")',
        ),
    ),
    _uri(
        "smtp-uri-password",
        r"smtps?|submission",
        ("smtp://", "smtps://", "submission://"),
        "SMTP",
        (
            "EMAIL_URL=smtp://apikey:FZfWSYDecfpF1FvEYGycR-HgrJlCOqVaZsxRov-3@smtp.sendgrid.net:587",
            'mailer_dsn: "smtps://noreply%40corp.io:BudzBF+pyatVaaw5@smtp.office365.com:465"',
        ),
    ),
    Rule(
        id="jdbc-password",
        description="JDBC URL with a password parameter",
        regex=r"(?i)\bjdbc:[a-z0-9]{2,20}:[^\s\"'<>]{0,300}?[;?&:]password=([^;&\s\"'<>]{1,128})",
        keywords=("jdbc:",),
        entropy=1.5,
        allow_regexes=_NOT_A_PASSWORD,
        secret_type="Basic Auth Credentials",
        hint=_URI_HINT,
        examples=(
            "spring.datasource.url=jdbc:sqlserver://sql.internal:1433;databaseName=erp;user=app;password=MUCwJFiDgPfoMRFk",
            'url: "jdbc:postgresql://db.internal:5432/app?user=svc&password=6oACaCP759BXXl9X1Kyo&ssl=true"',
        ),
        counterexamples=(
            "spring.datasource.url=jdbc:postgresql://db.internal:5432/app",
            "url=jdbc:sqlserver://sql:1433;user=app;password=${DB_PASSWORD}",
        ),
    ),
    Rule(
        id="ldap-bind-password",
        description="LDAP bind password (in a URI or a bind_password setting)",
        regex=(
            r"(?i)\bldaps?://"
            + _USER
            + ":"
            + _PASS
            + _HOST
            + r"|(?:ldap[_.\-]?)?bind[_.\-]?(?:dn[_.\-]?)?(?:password|passwd|pw|credentials?)[\"']?[ \t]{0,5}[:=][ \t]{0,5}[\"']?([^\s\"'<>]{4,128})"
        ),
        keywords=(
            "ldap://",
            "ldaps://",
            "bind_password",
            "bindpassword",
            "bind-password",
            "bind_pw",
            "binddn_password",
            "bindcredential",
            "bind_credential",
        ),
        entropy=1.5,
        allow_regexes=_NOT_A_PASSWORD,
        secret_type="Basic Auth Credentials",
        hint="change the bind account's password in the directory and load it from a secret store",
        examples=(
            "AUTH_LDAP_BIND_PASSWORD=vhz8Wqhugue6n-o2",
            'url: "ldaps://cn=svc-reader,dc=corp:NlFXK0zDb4ZiWWJ64o@ldap.corp.internal:636"',
            '  bindCredential: "Otgc-fQs5oeJOu"',
        ),
        counterexamples=("bind_password: ${LDAP_BIND_PASSWORD}", "ldap://ldap.corp.internal:389/dc=corp"),
    ),
    Rule(
        id="connection-string-password",
        description="ADO.NET / ODBC connection string with a password",
        regex=r"(?i)\b(?:server|data source|host|address|addr)=[^;\"'\n]{1,200};[^\"'\n]{0,300}?\b(?:password|pwd)=([^;\"'\s]{1,128})",
        keywords=("password=", "pwd="),
        entropy=1.5,
        allow_regexes=_NOT_A_PASSWORD,
        secret_type="Basic Auth Credentials",
        hint=_URI_HINT.replace("the URI", "the connection string"),
        examples=(
            '"DefaultConnection": "Server=tcp:sql-prod.database.windows.net,1433;Database=erp;User ID=app;Password=W%mMTHq1oBwrj-3TWC;Encrypt=True"',
            "conn = 'Driver={ODBC Driver 18};Server=10.0.0.5;Uid=etl;Pwd=e6J5GtQrj0OMvWnY;'",
        ),
        counterexamples=(
            '"DefaultConnection": "Server=(localdb)\\\\mssqllocaldb;Database=app;Trusted_Connection=True"',
            "Server=db;Database=app;User Id=sa;Password=<YourStrong@Passw0rd>;",
        ),
    ),
    Rule(
        id="generic-uri-password",
        description="URI with an inline user:password",
        regex=r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://" + r"[^:@/\s\"'<>]{1,64}:" + r"([^@/\s\"'<>]{3,128})" + _HOST,
        keywords=("://",),
        entropy=2.5,
        allow_regexes=(*_NOT_A_PASSWORD, r"^\d{1,5}$"),
        stopwords=("example", "password", "placeholder", "changeme"),
        secret_type="Basic Auth Credentials",
        hint=_URI_HINT,
        examples=(
            "ELASTICSEARCH_URL=https://elastic:L5p2jInHtsjKgzNEViK8@es.prod.internal:9200",
            "pip install --index-url https://deploy:Kb3VPy0hGhSt2dvbyjARHpX6@nexus.corp.internal/repository/pypi/simple pkg",
        ),
        counterexamples=(
            "https://user:password@example.com/",
            "https://${USER}:${PASS}@host/",
            "https://host.internal:8443/path@v2",
            "git clone https://oauth2:****@gitlab.com/group/repo.git",
        ),
    ),
)
