"""Payment providers: card processors, wallets, commerce platforms and billing APIs.

Written from each provider's documented key format. A live key moves money or
reads cardholder and customer data, so these rules have no entropy slack for
placeholders: a real key of a fixed format is random by construction. Test-mode
keys get their own rule (``stripe-test-secret-key``, tagged ``test-key``) so a
team can disable them without losing live-key detection.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_LINE, assigned

_STRIPE_HINT = "Roll the key in the Stripe Dashboard (Developers > API keys) and load it from a secret store."

RULES: tuple[Rule, ...] = (
    Rule(
        id="stripe-secret-key",
        description="Stripe live secret key",
        regex=r"\b(sk_live_[0-9A-Za-z]{24,247})\b",
        keywords=("sk_live_",),
        entropy=3.5,
        # Paystack live keys share the prefix but are 40 lower-case hex digits; paystack-secret-key reports them.
        # A digits-only body is a placeholder (real keys mix cases and digits).
        allow_regexes=(r"^sk_live_(?:[0-9a-f]{40}|[0-9]+)$",),
        secret_type="Stripe Access Key",
        hint=_STRIPE_HINT,
        examples=(
            "STRIPE_SECRET_KEY=sk_live_MOe6xFzWyam9dBX10pLjnCAb",
            'stripe.api_key = "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"',
            '{"stripe": {"secretKey": "sk_live_s2qvdXVVTRUs4kaaW9X1VgmiRXMCtsR6"}}',
        ),
        counterexamples=(
            "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "STRIPE_SECRET_KEY=sk_live_Qq7zsNWOL00y",
            "stripeKey: {{ .Values.stripe.secretKey }}",
            "Live keys look like sk_live_ followed by random characters.",
        ),
        tags=("payment",),
    ),
    Rule(
        id="stripe-restricted-key",
        description="Stripe live restricted API key",
        regex=r"\b(rk_live_[0-9A-Za-z]{24,247})\b",
        keywords=("rk_live_",),
        entropy=3.5,
        allow_regexes=(r"^rk_live_(?:[0-9a-f]{40}|[0-9]+)$",),
        secret_type="Stripe Access Key",
        hint=_STRIPE_HINT,
        examples=(
            "export STRIPE_RESTRICTED_KEY='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'",
            "  restricted_key: rk_live_zHux3RTnIAwGgX3tcXjEBIZ7",
        ),
        counterexamples=(
            "STRIPE_RESTRICTED_KEY=rk_live_3yj7BfCntwLsou3k",
            "restricted_key: rk_live_1234567890123456789012345",
            "STRIPE_KEY=prk_live_8xdgm5X2Xpvd75WrxmhECffu",
        ),
        tags=("payment",),
    ),
    Rule(
        id="stripe-test-secret-key",
        description="Stripe test-mode secret or restricted key",
        regex=r"\b([rs]k_test_[0-9A-Za-z]{24,247})\b",
        keywords=("sk_test_", "rk_test_"),
        entropy=3.5,
        # Paystack test keys share the prefix but are 40 lower-case hex digits.
        allow_regexes=(r"^[rs]k_test_[0-9a-f]{40}$",),
        hint="Test-mode keys cannot move money but expose test data and webhooks; roll it in the Stripe Dashboard.",
        examples=(
            "STRIPE_SECRET_KEY=sk_test_1X1ldeyHdUdKsqRaaDF2nCSWanjNXaILWxa8HnfX7uYNUvsdrJB1z5WLa8BcCCnCGv4ZdkjfzLGEJA4RithfgmBRTUpU4VMDUJv",
            "const stripe = require('stripe')('rk_test_N0rLp6fOJt8BJYoVTtUU4izO');",
        ),
        counterexamples=(
            "STRIPE_SECRET_KEY=sk_test_iI63fsApBt",
            "STRIPE_SECRET_KEY=sk_test_000000000000000000000000",
            "stripe_key: ${STRIPE_SECRET_KEY}",
        ),
        tags=("payment", "test-key"),
    ),
    Rule(
        id="stripe-webhook-secret",
        description="Stripe (or Svix) webhook signing secret",
        regex=r"\b(whsec_[A-Za-z0-9+/]{32,88}={0,2})",
        keywords=("whsec_",),
        entropy=3.5,
        hint="Roll the endpoint's signing secret in the Stripe Dashboard (Developers > Webhooks).",
        examples=(
            "STRIPE_WEBHOOK_SECRET=whsec_1Jj6N7EtE0AfYvwU7FEduDvHGVxLEV14",
            'endpoint_secret = "whsec_PkUg1j5xhdwtaHQWaDd6YoAEW7JNEn19gkmD0XNj4wi="',
        ),
        counterexamples=(
            "STRIPE_WEBHOOK_SECRET=whsec_...",
            "STRIPE_WEBHOOK_SECRET=whsec_luThjy0hfVWqtLNO",
            "webhookSecret: '{{ stripe_webhook_secret }}'",
        ),
        tags=("payment",),
    ),
    Rule(
        id="square-access-token",
        description="Square production access token",
        regex=r"\b(EAAA[A-Za-z0-9_\-]{60})" + END_LINE,
        keywords=("eaaa",),
        entropy=3.5,
        hint="Revoke the token in the Square Developer Dashboard (Credentials) or with the OAuth RevokeToken API.",
        examples=(
            "SQUARE_ACCESS_TOKEN=EAAAH4bCdJ1Q_IMEuAFIAHgHlJxKhs0fXUR6vP__xZTaJbT7VRU7M9gB78evFdEP",
            '  "accessToken": "EAAAgozcDCL6f459opVYeN2rqnkpZHVCnFwjsycEysdEvpxQJgonlyEYzrpLefov",',
        ),
        counterexamples=(
            "SQUARE_ACCESS_TOKEN=EAAAMZn47V2T68YrBFgF135tnCre8DzxuC",
            "square_token: EAAAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "SQUARE_ACCESS_TOKEN=EAAA0BLVrZB1f4qGZ0CmZwMFORHCc8m9yk0pOcx2Q1siP0sJLwmWLvfyYErWFN8u03klhhDpQKw57sqh7BDyEMZF7j1uYAiRSay8pGayR3YlphaVUP9iB5zbMNGj",
        ),
        tags=("payment",),
    ),
    Rule(
        id="square-legacy-access-token",
        description="Square legacy personal access token",
        regex=r"\b(sq0atp-[0-9A-Za-z_\-]{22})" + END_LINE,
        keywords=("sq0atp-",),
        entropy=3.0,
        hint="Replace the token in the Square Developer Dashboard and revoke the old one.",
        examples=(
            "SQUARE_TOKEN=sq0atp-wSMgh8Ik0GYU7g0e0FfTsS",
            "square.access_token = 'sq0atp-xqEkiM1JxjstaV9lByOReA'",
        ),
        counterexamples=(
            "SQUARE_TOKEN=sq0atp-oBUk4Qpege",
            "SQUARE_TOKEN=sq0atp-XXXXXXXXXXXXXXXXXXXXXX",
        ),
        tags=("payment",),
    ),
    Rule(
        id="square-oauth-secret",
        description="Square OAuth application secret",
        regex=r"\b(sq0csp-[0-9A-Za-z_\-]{43})" + END_LINE,
        keywords=("sq0csp-",),
        entropy=3.5,
        secret_type="Square OAuth Secret",
        hint="Replace the application secret in the Square Developer Dashboard (OAuth page).",
        examples=(
            "SQUARE_APP_SECRET=sq0csp-vlR0ba3e5JJuuc6MuLkUzZgli4KkSs-MskfKG24xO3c",
            '{"square_oauth_secret": "sq0csp-hGgctbkutTWwHWtdk2Gb66777tl0GiKD2krvO6mdlht"}',
        ),
        counterexamples=(
            "SQUARE_APP_SECRET=sq0csp-ofN7efcLsz5jMO6UY43F",
            "SQUARE_APP_SECRET=sq0csp-0000000000000000000000000000000000000000000",
        ),
        tags=("payment",),
    ),
    Rule(
        id="braintree-access-token",
        description="PayPal Braintree production access token",
        regex=r"\b(access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32})\b",
        keywords=("access_token$production$",),
        entropy=3.0,
        hint="Revoke the token in the Braintree Control Panel (API keys) and issue a new one.",
        examples=(
            "BRAINTREE_ACCESS_TOKEN=access_token$production$3cgopij7sx29n4u5$58046001310f192e86726b1342a9279c",
            "gateway = braintree.BraintreeGateway(access_token='access_token$production$16fhjx9wxn6icjmc$b2c0e31fa755b446e678a21706548056')",
        ),
        counterexamples=(
            "BRAINTREE_ACCESS_TOKEN=access_token$sandbox$qxep4t84j6ooyvxp$e3a7bff591e480be13f6acc68907675b",
            "BRAINTREE_ACCESS_TOKEN=access_token$production$59g601akknbjurvg$20d8950fd986",
        ),
        tags=("payment",),
    ),
    Rule(
        id="adyen-api-key",
        description="Adyen API key",
        regex=r"(?i:adyen).{0,60}?\b(AQE[A-Za-z0-9+/]{40,200}={0,2}-[A-Za-z0-9+/]{40,60}={0,2})",
        keywords=("adyen",),
        entropy=4.0,
        hint="Generate a new API key for the credential in the Adyen Customer Area; the old one keeps working for 24 hours.",
        examples=(
            "ADYEN_API_KEY=AQEx6/PlaqaKLxd4ZAZyRB1YxjZVAUoCdBtnksxzIAMx6kP/loRrxtT1vHw+V4ZiNOkUnS2OLaeCHe6yA4Johx/4BoVyYLDxA1QLZZD==-XB04oDxzyzE9HUVjP7WJYvCZlr4j+/P/bhXgKisBMc2=-wKVIT1utRTewrUIB",
            'adyen_api_key: "AQEs+xJ5JX7BkzYT/2EfdKI/e4VJDtGKL/UZHCWUlRZ71Zg4mcBbG9EZ97uHDAIdfoKqtir1omjsI2GiZFxuPAAOHC58H6GI1Dhrzd1lDBvX3RLaqj5/9oh7bZF-YhuyAS2yq/t6eBkfkvrspUv64o+QG1MmW7OpMAIy4j8r"',
        ),
        counterexamples=(
            "ADYEN_API_KEY=AQE_your_api_key",
            "ADYEN_MERCHANT_ACCOUNT=CompanyECOM",
            "ADYEN_API_KEY=AQEhex+XCob0l3lsXWJRDv+",
        ),
        tags=("payment",),
    ),
    Rule(
        id="shopify-access-token",
        description="Shopify Admin API access token",
        regex=r"\b(shpat_[a-fA-F0-9]{32})\b",
        keywords=("shpat_",),
        entropy=3.0,
        hint="Uninstall or rotate the app's token in the Shopify admin (Apps > Develop apps) and reinstall it.",
        examples=(
            "SHOPIFY_ACCESS_TOKEN=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",
            "headers = {'X-Shopify-Access-Token': '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'}",
        ),
        counterexamples=(
            "SHOPIFY_ACCESS_TOKEN=shpat_5a4ecb1737f7b119f14a",
            "SHOPIFY_ACCESS_TOKEN=shpat_00000000000000000000000000000000",
        ),
        tags=("payment", "commerce"),
    ),
    Rule(
        id="shopify-custom-app-token",
        description="Shopify custom app access token",
        regex=r"\b(shpca_[a-fA-F0-9]{32})\b",
        keywords=("shpca_",),
        entropy=3.0,
        hint="Rotate the custom app's Admin API access token in the Shopify admin.",
        examples=(
            "SHOPIFY_TOKEN=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",
            '  "token": "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"',
        ),
        counterexamples=(
            "SHOPIFY_TOKEN=shpca_861de91f1ed81ebff5b331797fb70f7x",
            "SHOPIFY_TOKEN=shpca_{{ token }}",
        ),
        tags=("payment", "commerce"),
    ),
    Rule(
        id="shopify-private-app-token",
        description="Shopify private app access token",
        regex=r"\b(shppa_[a-fA-F0-9]{32})\b",
        keywords=("shppa_",),
        entropy=3.0,
        hint="Private apps are deprecated: delete the app in the Shopify admin and move to a custom app token.",
        examples=(
            "SHOPIFY_PASSWORD=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",
            "shopify_api_password: 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",
        ),
        counterexamples=(
            "SHOPIFY_PASSWORD=shppa_6811d53467c3a791",
            "SHOPIFY_PASSWORD=shppa_ffffffffffffffffffffffffffffffff",
        ),
        tags=("payment", "commerce"),
    ),
    Rule(
        id="shopify-shared-secret",
        description="Shopify app shared secret",
        regex=r"\b(shpss_[a-fA-F0-9]{32})\b",
        keywords=("shpss_",),
        entropy=3.0,
        hint="Rotate the API secret key in the Shopify Partner Dashboard (App setup) and update webhook verification.",
        examples=(
            "SHOPIFY_API_SECRET=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",
            "config.shopify_secret = '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'",
        ),
        counterexamples=(
            "SHOPIFY_API_SECRET=shpss_1e73cfccf40778c411dd1c1f",
            "SHOPIFY_API_SECRET=shpss_...",
        ),
        tags=("payment", "commerce"),
    ),
    Rule(
        id="razorpay-key-secret",
        description="Razorpay API key secret",
        regex=assigned("razorpay", r"(?:key[_.\-]?)?secret", r"[A-Za-z0-9]{24}") + r"\b",
        keywords=("razorpay",),
        entropy=3.5,
        hint="Regenerate the API key in the Razorpay Dashboard (Account & Settings > API keys).",
        examples=(
            "RAZORPAY_KEY_SECRET=I055WhJSmQqHOZLe6OaV37pR",
            'razorpaySecret: "vtO4KSGNLYfyYXsfkve8oc6s"',
        ),
        counterexamples=(
            "RAZORPAY_KEY_ID=rzp_live_BCCck6VfjUk8rD",
            "RAZORPAY_KEY_SECRET=67rvUoazTTbv",
            "RAZORPAY_KEY_SECRET=your_razorpay_key_secret",
        ),
        tags=("payment",),
    ),
    Rule(
        id="flutterwave-secret-key",
        description="Flutterwave live secret key",
        regex=r"\b(FLWSECK-[0-9a-zA-Z]{32}-X)\b",
        keywords=("flwseck-",),
        entropy=3.0,
        hint="Regenerate the API keys in the Flutterwave dashboard (Settings > API).",
        examples=(
            "FLW_SECRET_KEY=FLWSECK-589fa9ec4a5315bbcb202ff66ecd63e3-X",
            "flutterwave_secret_key: 'FLWSECK-b31856338bec8d79f92dc508d64801c6-X'",
        ),
        counterexamples=(
            "FLW_SECRET_KEY=FLWSECK_TEST-7360a4efd28520308f3f42059a3c047f-X",
            "FLW_SECRET_KEY=FLWSECK-0be5bdc0f3e650cd295e-X",
        ),
        tags=("payment",),
    ),
    Rule(
        id="paystack-secret-key",
        description="Paystack live secret key",
        regex=r"(?i:paystack).{0,60}?\b(sk_live_[0-9a-f]{40})\b",
        keywords=("paystack",),
        entropy=3.0,
        hint="Generate new API keys in the Paystack Dashboard (Settings > API Keys & Webhooks).",
        examples=(
            "PAYSTACK_SECRET_KEY=sk_live_38fc673986f07067083944171ef650061e811b10",
            "const paystack = require('paystack')('sk_live_ab5ce303d45a8ccf9a394c84f86df1289bd98a49');",
        ),
        counterexamples=(
            "PAYSTACK_SECRET_KEY=sk_test_cb860d3be1c07679429461e90d8078d4d38a0a99",
            "PAYSTACK_SECRET_KEY=sk_live_fbecdf0f028c2e18ddf1",
        ),
        tags=("payment",),
    ),
    Rule(
        id="coinbase-api-secret",
        description="Coinbase API secret or access token",
        regex=assigned("coinbase", r"(?:secret|token|private[_.\-]?key)", r"[A-Za-z0-9+/_\-]{32,88}={0,2}") + END_LINE,
        keywords=("coinbase",),
        entropy=3.5,
        hint="Delete the API key in Coinbase (Settings > API or the Developer Platform portal) and create a new one.",
        examples=(
            "COINBASE_API_SECRET=chdrhwjnBy4QBCteAwIukrtGqnoqR0r3",
            "coinbase_access_token: 'HaPhFDw7vA8wX3xWiAFJAodG6qBVsAnQtz-UW13K-LwX2UFlsjbABoVOJHsfG_QL'",
        ),
        counterexamples=(
            "COINBASE_API_KEY_NAME=organizations/my-org/apiKeys/my-key",
            "COINBASE_API_SECRET=ozJZlQiPlOq9I3Hd",
            "coinbase_secret: ${COINBASE_SECRET}",
        ),
        tags=("payment", "crypto"),
    ),
    Rule(
        id="plaid-access-token",
        description="Plaid production or development access token",
        regex=r"\b(access-(?:production|development)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
        keywords=("access-production-", "access-development-"),
        entropy=3.0,
        hint="Call Plaid's /item/remove (or rotate with /item/access_token/invalidate) and re-link the Item.",
        examples=(
            "PLAID_ACCESS_TOKEN=access-production-1a08f66b-fc90-4884-a7a8-591d8f1f28d5",
            '{"access_token": "access-development-76016ad1-a035-40da-b79c-2e1e13c23a67"}',
        ),
        counterexamples=(
            "PLAID_ACCESS_TOKEN=access-sandbox-4c00ce3f-36b6-489b-a32c-2ed4941d4b49",
            "PLAID_ACCESS_TOKEN=access-production-xxxxxxxx",
        ),
        tags=("payment",),
    ),
    Rule(
        id="plaid-secret",
        description="Plaid API secret",
        regex=assigned("plaid", r"secret", r"[0-9a-f]{30}") + r"\b",
        keywords=("plaid",),
        entropy=3.0,
        hint="Rotate the secret in the Plaid Dashboard (Team Settings > Keys).",
        examples=(
            "PLAID_SECRET=a9b13f78a06c210f92d082d092fe57",
            "plaid_production_secret: '5f9ed3d49942abf66d3178dfbce52a'",
        ),
        counterexamples=(
            "PLAID_CLIENT_ID=c035fc61c1cc9585670404dd",
            "PLAID_SECRET=a84c98d473c6df34e958",
            "PLAID_SECRET=your-plaid-secret",
        ),
        tags=("payment",),
    ),
    Rule(
        id="mollie-api-key",
        description="Mollie live API key",
        regex=r"(?i:mollie).{0,60}?\b(live_[A-Za-z0-9]{30})\b",
        keywords=("mollie",),
        entropy=3.5,
        hint="Reset the live API key in the Mollie Dashboard (Developers > API keys).",
        examples=(
            "MOLLIE_API_KEY=live_bqWS2nzMPFx4iACxvcr872MqAfO5dC",
            '$mollie->setApiKey("live_XgVwU8ILotIoeRyhuSnht0RhYoxvAT");',
        ),
        counterexamples=(
            "MOLLIE_API_KEY=test_Ov2RojGsOQfRxiQdkj5wk4a2WdoaKH",
            "MOLLIE_API_KEY=live_q60cyXb3MXM4",
        ),
        tags=("payment",),
    ),
    Rule(
        id="gocardless-access-token",
        description="GoCardless live access token",
        regex=r"(?i:gocardless).{0,60}?\b(live_[A-Za-z0-9_\-]{40})" + END_LINE,
        keywords=("gocardless",),
        entropy=3.5,
        hint="Revoke the access token in the GoCardless Dashboard (Developers > Access tokens) and create a new one.",
        examples=(
            "GOCARDLESS_ACCESS_TOKEN=live_6xmhlezY4Uw5wGMOQXm5Nsuj5-3eI4_WoQaXZn7w",
            "client = gocardless_pro.Client(access_token='live_P5ybVpmOXkqwUTi9QiPx2tl8YWg0WGW9u1tJfSgD', environment='live')",
        ),
        counterexamples=(
            "GOCARDLESS_ACCESS_TOKEN=sandbox_gv8CdJ-y-C4ITjtScpo-FDvUaff_oY5rVsy5EKjo",
            "GOCARDLESS_ACCESS_TOKEN=live_2WOFlGfVpT9T1g1ZbRR9",
        ),
        tags=("payment",),
    ),
    Rule(
        id="checkout-com-secret-key",
        description="Checkout.com live secret API key",
        regex=(
            r"(?i:checkout|cko).{0,60}?\b(sk_[a-z0-9]{26}[a-z0-9*#$=]"
            r"|sk_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})" + END_LINE
        ),
        keywords=("checkout", "cko"),
        entropy=3.0,
        hint="Delete the secret key in the Checkout.com Dashboard (Developers > Keys) and create a new one.",
        examples=(
            "CHECKOUT_SECRET_KEY=sk_6sdrfypn4bm2nut753mxpoec4rx",
            "const cko = new Checkout('sk_a27c0dc1-c3a9-a0bb-5e05-a4685130b8d5');",
        ),
        counterexamples=(
            "CHECKOUT_SECRET_KEY=sk_sbox_hnnfybpszp2paelcoli7hff2tk5",
            "CHECKOUT_SECRET_KEY=sk_test_ae9df5dc-bf43-cf6f-a07c-b7c2aeed4130",
            "CHECKOUT_PUBLIC_KEY=pk_mcosjy4doxwu5maeuekt73m724e",
        ),
        tags=("payment",),
    ),
    Rule(
        id="klarna-api-key",
        description="Klarna live API key",
        regex=r"\b(klarna_live_api_[A-Za-z0-9_\-]{30,300})",
        keywords=("klarna_live_api_",),
        entropy=3.5,
        hint="Disable the key in the Klarna Merchant Portal (Settings > Klarna API keys) and generate a new one.",
        examples=(
            "KLARNA_API_KEY=klarna_live_api_Xl4Uoe0f-NWpDnV4E60KxoDBt-2aFurzrGIX2YBvXrD_hlPkd9nfvxf_9RdP",
            "headers = {'Authorization': 'Basic klarna_live_api_nWn7xNg7PDVaQFA1rjjqJYhPgNlejINZ6AXMfVINFfD8Q11n'}",
        ),
        counterexamples=(
            "KLARNA_API_KEY=klarna_test_api__IzAY9JpJUE-AJ8aGTmFxyqoE5SFxRaHHZjhIqF6xT8aOG2Kx2Yx8LCp_BVr",
            "KLARNA_API_KEY=klarna_live_api_<your-key>",
        ),
        tags=("payment",),
    ),
    Rule(
        id="paypal-client-secret",
        description="PayPal REST API client secret",
        regex=assigned("paypal", r"(?:client[_.\-]?)?secret", r"E[A-Za-z0-9_\-]{79}") + END_LINE,
        keywords=("paypal",),
        entropy=3.5,
        hint="Generate a new secret for the app in the PayPal Developer Dashboard and disable the old one.",
        examples=(
            "PAYPAL_CLIENT_SECRET=EimZNBM6xQeJ-qrdpxslEK9EWxj0ZEvQeb6LTkpZypP_W9f-V46FDa6nu4Y9PpsQJLSW6Owe2bbfys16",
            'paypalSecret: "E3KSCR8y3889wLW2JepKuRylSO6viBpYXAs6NF7XHM8nj5cc87aMsSL8sJAyp9jfyhWuckpOZ6kOPG8j"',
        ),
        counterexamples=(
            "PAYPAL_CLIENT_ID=AWm9h5v1VcMMaakDC9kqmIrTtkdZ4rubmoJfSkxg7OeECecdJ7qWbq5BL6LsjI0xm7_lOK_REY1KULUX",
            "PAYPAL_CLIENT_SECRET=EF3kyuov4dnxyfByFgkOmVApwVyWPkF",
        ),
        tags=("payment",),
    ),
    Rule(
        id="paddle-api-key",
        description="Paddle Billing live API key",
        regex=r"\b(pdl_live_apikey_[a-z0-9]{26}_[A-Za-z0-9]{22}_[A-Za-z0-9]{3})\b",
        keywords=("pdl_live_apikey_",),
        entropy=3.5,
        hint="Revoke the API key in Paddle (Developer tools > Authentication) and create a new one.",
        examples=(
            "PADDLE_API_KEY=pdl_live_apikey_b3sx4o67cn7s8p4es6rsfxc03c_SHFwxUSKbD0a5fRj8M1dGs_yCh",
            "paddle = Client('pdl_live_apikey_wd6hrk75oqd4c19zuwqw6j83xh_13R35fYnvq4m9MVCA9dIYq_LA7')",
        ),
        counterexamples=(
            "PADDLE_API_KEY=pdl_sdbx_apikey_p62v693a6v8o4gsbrtq2mfwc2a_AZnZ5z1ja4duCRs0HYk6DW_W0J",
            "PADDLE_API_KEY=pdl_live_xxx",
        ),
        tags=("payment",),
    ),
    Rule(
        id="xendit-secret-key",
        description="Xendit production secret key",
        regex=r"\b(xnd_production_[A-Za-z0-9]{40,100})\b",
        keywords=("xnd_production_",),
        entropy=3.5,
        hint="Regenerate the secret key in the Xendit Dashboard (Settings > API keys).",
        examples=(
            "XENDIT_SECRET_KEY=xnd_production_m3rBS2OyzTNj6REcaY4uQ2eTURnTr0bhANLpNzvxRZd1zEvWpZY7H039NeVM",
            "Xendit.set_api_key('xnd_production_Oy0a7c3B0tbDIlLmIwNKiblPQhxtEo8u9Nsk75IHxyxSEhb4')",
        ),
        counterexamples=(
            "XENDIT_SECRET_KEY=xnd_development_X7qh6I00dfZxnCLWFVoJFnSZLskmJr5MDHZqVuuJihCvPwQHiekcGCVukvjJ",
            "XENDIT_SECRET_KEY=xnd_production_aszp8gyEEpzzaldNAJ7c",
        ),
        tags=("payment",),
    ),
)
