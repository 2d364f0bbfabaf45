"""Cloud infrastructure: AWS, Google Cloud, Azure, DigitalOcean and the other IaaS providers.

Prefixed formats (``AKIA``, ``dop_v1_``) match on their own; formats that are
only random characters (Linode, Vultr, Hetzner tokens, the AWS secret key)
match only as the value assigned to a name that says which provider it is,
because without that context they are indistinguishable from any hash.
Platform services built on top (PaaS, Vault, Terraform...) are in ``hosting``.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_TEXT, UUID_LOWER, near, revoke_hint

_AWS_HINT = "deactivate the key in AWS IAM, check CloudTrail for its use, and remove it from history"
_GCP_HINT = "delete or rotate the credential in the Google Cloud console (APIs & Services > Credentials)"
_AZURE_HINT = "rotate the key or secret in the Azure portal and move it to Key Vault"

RULES: tuple[Rule, ...] = (
    # --- AWS ------------------------------------------------------------------------------
    Rule(
        id="aws-access-key-id",
        description="AWS access key ID",
        regex=r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        keywords=("akia", "asia", "abia", "acca"),
        entropy=3.0,
        stopwords=("example",),
        secret_type="AWS Access Key",
        hint=_AWS_HINT,
        examples=(
            "aws_access_key_id = AKIAWOD6PJVSBINUIDW4",
            'AWS_ACCESS_KEY_ID="ASIAANUN7RJZRU2SNSNB"',
            '{"AccessKeyId": "AKIAV6FSWGEICXAM6FCD"}',
        ),
        counterexamples=(
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "key = AKIAXXXXXXXXXXXXXXXX",
            "id = AKIA3LV7ZYBD6QBEL4I",
            "ref = XAKIAG2OLYJ657PLKT5MK",
        ),
    ),
    Rule(
        id="aws-secret-access-key",
        description="AWS secret access key",
        regex=near(
            r"aws[_.\-]?secret(?:[_.\-]?access)?[_.\-]?key|secret[_.\-]?access[_.\-]?key",
            r"[A-Za-z0-9/+]{40}",
        ),
        keywords=(
            "aws_secret",
            "aws-secret",
            "awssecret",
            "aws.secret",
            "secret_access_key",
            "secretaccesskey",
            "secret-access-key",
        ),
        secret_group=1,
        entropy=3.5,
        stopwords=("example",),
        secret_type="AWS Access Key",
        hint=_AWS_HINT,
        examples=(
            "aws_secret_access_key = fRy4L2eFMfst72aYmxXbs+va3cjg6hwg/hjhFxzQ",
            'AWS_SECRET_ACCESS_KEY="v6FiASMMd1EnUai7PV7lsK8S7JAIY8wX1cx/z/70"',
            '  "SecretAccessKey": "WgDJJ38xo4Gms/ZTRrXP78kfbmA0/a03espz+Sbi",',
        ),
        counterexamples=(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
            "secret_access_key: urbCeLByKaqEQE/YpsriTcXqbM11f+DSkvGcnzy",
        ),
    ),
    Rule(
        id="aws-session-token",
        description="AWS temporary session token",
        regex=near(r"aws[_.\-]?session[_.\-]?token|x-amz-security-token", r"[A-Za-z0-9/+]{100,1000}={0,2}"),
        keywords=("session_token", "sessiontoken", "session-token", "x-amz-security-token"),
        secret_group=1,
        entropy=4.0,
        secret_type="AWS Access Key",
        hint="session tokens expire, but revoke the role's active sessions in IAM if it is still valid",
        examples=(
            "aws_session_token = IQoJb3JpZ2luX2Vj0Y57AZvXk2YQbKHu/wszjCqOmz8zzeC9K6ZzjJE6BSyv1NAZM95zG8YttEE4f3Fy5hA47PecsEIPDddmNWclGF249dLruLXTpuNxC7qzjamwMvZhHUTD0C7aDudn5Nf9Z7N5hOkr2RkHZPMnaZ0AqGseyfIY9Y5sOFQBSdnPmH4T3LqzgjAOJ8XbW18gDiY0so4wVaGEngf857+QxjFcoReks6Xbghotwz82oogloFzwCvkW5VeL1zglg9Jpa797o7ceQqPz2qUzK1/j34NFt0OuquChAHgmNrBcEn1OA8G5",
            'export AWS_SESSION_TOKEN="FwoGZXIvYXdzEhF5J8XArvNAHGCy8S2VBAVSEJee5eLQPPCTOAv1GHqe+TsUhlveKb+IK8vJvLH2kEQ8spZjZXtWINwW2RZCHpeEY4hWFPvs2E3wNHHRSObSibliUKF4KWX0Pmu6vbQh4U4A7Zzvo1T2cOYky7fn25YXpJAXf9EvLTNpCwbRih4zuol/d4aUiS0gF/BPdDgAYcLsRvsVx2QFg45EQhG//s84IzOWJY4yvoB/5nGHoZyhSsV+SHGDJ9CXlSixW4qQuHdfSYAkBDhD4p0JTF90/vpdU"',
        ),
        counterexamples=(
            "aws_session_token = ${AWS_SESSION_TOKEN}",
            "aws_session_token = iV67uKhrGF8Mdr2tp2pwZfELItumilg4pNe6u+3kQYcQwrebRyjSc12ysfIE",
        ),
    ),
    Rule(
        id="aws-mws-auth-token",
        description="Amazon Marketplace Web Service auth token",
        regex=r"\b(amzn\.mws\." + UUID_LOWER + r")\b",
        keywords=("amzn.mws.",),
        hint="revoke the developer authorization in Seller Central",
        examples=(
            "mws_auth_token: amzn.mws.573aece4-ecde-40f3-9d4b-cd6f041a171a",
            'MWSAuthToken = "amzn.mws.30dd5a9d-a3d6-44ba-b94c-c5a38ea180c0"',
        ),
        counterexamples=(
            "mws_auth_token: amzn.mws.xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            "token: amzn.mws.1234",
        ),
    ),
    # --- Google Cloud ---------------------------------------------------------------------
    Rule(
        id="gcp-api-key",
        description="Google Cloud API key",
        regex=r"\b(AIza[0-9A-Za-z_\-]{35})" + END_TEXT,
        keywords=("aiza",),
        entropy=3.0,
        hint=_GCP_HINT + "; restrict keys by API and referrer",
        examples=(
            "GOOGLE_API_KEY=AIza4n5DHZLy9jMcAQsaov447pjcPO8Va-zB2mF",
            'const key = "AIzaz_EM2nxQLsoQq_I9x43K9xxvxywcyaF20Gz";',
            "  apiKey: AIzaOuWj96HdOmDL4kiNf_ggas9328Y-Du0wSw7",
        ),
        counterexamples=(
            "GOOGLE_API_KEY=AIzatvfStryh-tyKD7TAH09s93UXwDTI-5",
            "apiKey: AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        ),
    ),
    Rule(
        id="gcp-service-account-key",
        description="Google Cloud service-account key file",
        regex=r"\"private_key_id\"[ \t]{0,5}:[ \t]{0,5}\"([0-9a-f]{40})\"",
        keywords=("private_key_id",),
        entropy=3.0,
        hint="delete the key in IAM > Service accounts > Keys; prefer workload identity to key files",
        examples=(
            '  "private_key_id": "32d85043d6baf9a33dd637acb26b7bea65e322d4",',
            '{"type": "service_account", "project_id": "demo-prod", "private_key_id": "30c2477f4428c53ca11ea963867ecc4fe19dcf8a"}',
        ),
        counterexamples=(
            '  "private_key_id": "<your key id>",',
            '  "private_key_id": "88f6ba342653bf3e0bc3",',
        ),
    ),
    Rule(
        id="gcp-oauth-client-secret",
        description="Google OAuth client secret",
        regex=r"\b(GOCSPX-[A-Za-z0-9_\-]{28})" + END_TEXT,
        keywords=("gocspx-",),
        entropy=3.0,
        hint=_GCP_HINT,
        examples=(
            '"client_secret": "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"',
            "GOOGLE_CLIENT_SECRET=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",
        ),
        counterexamples=(
            "GOOGLE_CLIENT_SECRET=GOCSPX-AetsOiZep5g1z72YFNSR",
            "GOOGLE_CLIENT_SECRET=GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
    Rule(
        id="gcp-oauth-access-token",
        description="Google OAuth 2.0 access token",
        regex=r"\b(ya29\.[A-Za-z0-9_\-]{30,1000})",
        keywords=("ya29.",),
        entropy=3.5,
        hint="access tokens expire within an hour; revoke the grant at https://myaccount.google.com/permissions",
        examples=(
            "Authorization: Bearer ya29.a0ojF4t9RILwNOdzCUnT8fr0OZ3RtLB1ZbXadRX8mgG65Jw8uJiaEXETBBQbFSmIMDTmrNn4i1HqkvozbstR-oBNOs9nzQZLn1YEbNCmr6NAUdtOayrbBXdrJB",
            '{"access_token": "ya29.pnyvE8x6mrBT_tc_UxByNLmPOI9b-Mf7Qsmgx3FCsicsQoz_suEPL42VhKv8Acl7TOcdBG-Z-k_5aea2J-XXxenpbPf7WeJdFpopS8mjESMIBFJ-cvgsEsJTBbtxV6-Eu7TYU4AEtJErwsWsHuGJOt", "expires_in": 3599}',
        ),
        counterexamples=(
            "Authorization: Bearer ya29.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "token = ya29.short",
        ),
    ),
    Rule(
        id="gcp-oauth-refresh-token",
        description="Google OAuth 2.0 refresh token",
        regex=r"(?:^|[^A-Za-z0-9/])(1//0[A-Za-z0-9_\-]{40,512})",
        keywords=("1//0",),
        entropy=3.5,
        hint="revoke the grant at https://myaccount.google.com/permissions or via the OAuth revoke endpoint",
        examples=(
            '"refresh_token": "1//0LViOqBYAYmnSHkp4FbhbDLRgT2wM2KX6iNBqaxFE_APXlQkUGZykpgtVUHqeyOkg79MYPGtQyXy2VSJb1b4U-JO-t04_Fd1uZmeF"',
            "GOOGLE_REFRESH_TOKEN=1//0M5MZ8kxIhpxs1Ad0XzRI9YntjRnfQc3UAj4qTZwMpSvFB_1wd5RwyX1C2haCEDh_nYk7-am1itMRtHKA-b2zeoBOyYs1-Sel",
        ),
        counterexamples=(
            "url = https://1//0V0qeMRoAqK",
            '"refresh_token": "1//0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        ),
    ),
    # --- Azure ----------------------------------------------------------------------------
    Rule(
        id="azure-storage-account-key",
        description="Azure storage account access key",
        regex=r"(?i)account_?key[\"']?[ \t]{0,5}[=:][ \t]{0,5}[\"']?(?-i:([A-Za-z0-9+/]{86}==))",
        keywords=("accountkey", "account_key"),
        entropy=4.0,
        secret_type="Azure Storage Account access key",
        hint=_AZURE_HINT + "; prefer managed identities or short-lived SAS",
        examples=(
            "DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey=73i8aCkroZ9VlxYBKVOqOhcTy1xgt4+SyLwdg88kCZKI6gS0f8mV3gNNTMthPNw4hgF3S8A/LdBSiAx2yT+9GA==;EndpointSuffix=core.windows.net",
            'storage_account_key = "MPuZKAHSOMtpa37j/qeQaKPL9dAqJCSpACBwvl84AXm3TTY+RkdFz8nmzvyR6BV6Xm9cDuZ3ii5yppWvozoMDQ=="',
        ),
        counterexamples=(
            "AccountName=devstoreaccount1;AccountKey=<account-key>;",
            "AccountKey=65CEFOIBT7FANUAdS8UpRsuVA11mCscLmYcNEmdI3AU=",
        ),
    ),
    Rule(
        id="azure-ad-client-secret",
        description="Microsoft Entra ID (Azure AD) application client secret",
        regex=r"(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)",
        keywords=("q~",),
        entropy=3.0,
        hint="delete the secret under App registrations > Certificates & secrets; prefer certificates or federated credentials",
        examples=(
            "AZURE_CLIENT_SECRET=iM28Q~tBX4AVXiak3RZ2kWzhR4L9g6EnHWZoE",
            '"clientSecret": "O7r1Q~5NKZmJJCqufsDgGcEb1FVLcbpgbziTEoWP"',
        ),
        counterexamples=(
            "AZURE_CLIENT_SECRET=abc8Q~short",
            "text = HhP8Q~zE6LvUhARz75KCq8BHoZ",
        ),
    ),
    Rule(
        id="azure-sas-token",
        description="Azure shared access signature (SAS) with its signature",
        regex=r"(?i)\bsv=\d{4}-\d{2}-\d{2}&[^\s\"'<>]{0,400}?\bsig=([A-Za-z0-9%+/]{40,120}(?:%3D|=){0,2})",
        keywords=("sig=",),
        entropy=3.5,
        hint="rotate the storage account key the SAS was signed with, or revoke its stored access policy",
        examples=(
            "https://prod.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&spr=https&sig=gpEAj2DIrc2ybM0mxeq9Itk6vXKoA7fWd4GnOBnmm5a%3D",
            'sas_url: "https://x.blob.core.windows.net/c?sv=2021-06-08&sr=c&sp=r&sig=YgTuY51eMYgDfoQUPbruMbYUfV50YdWcrbRsjEeamxI%3D"',
        ),
        counterexamples=(
            "https://prod.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=<signature>",
            "https://example.com/?sig=hQUIizL4Z5Ut2nlQ0xvGZFeaZi3XX0DiucPS5BT73T3",
        ),
    ),
    # --- DigitalOcean ---------------------------------------------------------------------
    Rule(
        id="digitalocean-pat",
        description="DigitalOcean personal access token",
        regex=r"\b(dop_v1_[a-f0-9]{64})\b",
        keywords=("dop_v1_",),
        entropy=3.0,
        hint=revoke_hint("DigitalOcean (API > Tokens)"),
        examples=(
            "DIGITALOCEAN_TOKEN=dop_v1_e74db5e8e3f1477ca5f79886bfc650177a18bf801b6b993be39cdd688db9cd7f",
            'do_token = "dop_v1_52d7900615688fb366602a6c6093e1f2b02fc6aab6ae1a5ee6f6a70e0550b1fb"',
        ),
        counterexamples=(
            "DIGITALOCEAN_TOKEN=dop_v1_b6bbf7c14a9a7767efdd9c7ff500eca487c3acc7",
            "token: dop_v1_<your-token>",
        ),
    ),
    Rule(
        id="digitalocean-oauth-token",
        description="DigitalOcean OAuth access token",
        regex=r"\b(doo_v1_[a-f0-9]{64})\b",
        keywords=("doo_v1_",),
        entropy=3.0,
        hint=revoke_hint("DigitalOcean (API > OAuth applications)"),
        examples=(
            "access_token: doo_v1_5a77db7df8b060fbe0b8855e2b65098866eeb6de933efd8466d7393a2e9ffe8f",
            '{"token": "doo_v1_ff02088f120a90d692a55f6bc7a2f9feeba1b69ef1ddccafbd305e3ecfa3371c"}',
        ),
        counterexamples=(
            "access_token: doo_v1_c2ce9856b3885379e671276e3198082e8c982c7805f5b1fb1794b98de62f95d",
            "access_token: doo_v1_${TOKEN}",
        ),
    ),
    Rule(
        id="digitalocean-refresh-token",
        description="DigitalOcean OAuth refresh token",
        regex=r"\b(dor_v1_[a-f0-9]{64})\b",
        keywords=("dor_v1_",),
        entropy=3.0,
        hint=revoke_hint("DigitalOcean (API > OAuth applications)"),
        examples=(
            "refresh_token=dor_v1_22b5b646232ffba0f308a242fa42d02961ff8571ee1c0f2a65500ed5702a1ef4",
            'refresh: "dor_v1_2a70a4b9da220e0c6aa7b9bdaa694cac1c5d9af128da1a5196b6837176df2959"',
        ),
        counterexamples=("refresh_token=dor_v1_5b7610a948a43874f1b74b608e1c0f4b", "refresh_token=dor_v1_" + "0" * 64),
    ),
    # --- Alibaba, IBM, Oracle, Yandex -----------------------------------------------------
    Rule(
        id="alibaba-access-key-id",
        description="Alibaba Cloud AccessKey ID",
        regex=r"\b(LTAI[A-Za-z0-9]{12,20})\b",
        keywords=("ltai",),
        entropy=3.0,
        hint="disable the AccessKey pair in the Alibaba Cloud RAM console",
        examples=("ALIBABA_CLOUD_ACCESS_KEY_ID=LTAInt9D3wX5mNmMumfyHSlz", 'accessKeyId: "LTAIBjhA1YAKI2ONeZNO"'),
        counterexamples=("id = LTAI6zNM2X8U", "accessKeyId: LTAIxxxxxxxxxxxxxxxx"),
    ),
    Rule(
        id="alibaba-access-key-secret",
        description="Alibaba Cloud AccessKey secret",
        regex=near(r"(?:alibaba|aliyun|alicloud)[\w.\-]{0,20}?secret", r"[A-Za-z0-9]{30}"),
        keywords=("alibaba", "aliyun", "alicloud"),
        secret_group=1,
        entropy=3.5,
        hint="disable the AccessKey pair in the Alibaba Cloud RAM console",
        examples=(
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET=Yn116Yqqgz4k2db4W1CEXFsfXu68mv",
            'aliyun_access_secret: "LBA9V7oVHnI5373ofiCqZ2J0EQFpFS"',
        ),
        counterexamples=("ALIBABA_CLOUD_ACCESS_KEY_SECRET=${ALIYUN_SECRET}", "aliyun_secret: g32U6Mw3C7kPTHYwNPRv"),
    ),
    Rule(
        id="ibm-cloud-iam-key",
        description="IBM Cloud IAM API key",
        regex=near(
            r"ibm[_.\-]?(?:cloud[_.\-]?)?(?:iam[_.\-]?)?api[_.\-]?key|ibmcloud[_.\-]?api[_.\-]?key|iam[_.\-]?api[_.\-]?key",
            r"[A-Za-z0-9_\-]{44}",
        ),
        keywords=("ibm", "iam_api", "iamapi", "iam-api"),
        secret_group=1,
        entropy=3.5,
        secret_type="IBM Cloud IAM Key",
        hint="delete the API key in IBM Cloud (Manage > Access (IAM) > API keys)",
        examples=(
            "IBMCLOUD_API_KEY=DpvAt5F8dkH0IZFbFyHX47rRp29qxZR1ZhgKrrcLRbIw",
            'ibm_iam_api_key: "HxOBz33lq_R-YJvo4QFBppAmGs7rgotL_vUUsJm76eTL"',
        ),
        counterexamples=(
            "IBMCLOUD_API_KEY=Z8cejfTkI4Q_2p_O_H7WldxnFgRfZUcl62_CGp4R",
            "ibmcloud_api_key: ${IBMCLOUD_API_KEY}",
        ),
    ),
    Rule(
        id="oracle-oci-auth-token",
        description="Oracle Cloud (OCI) auth token or customer secret key",
        regex=near(
            r"oci[_.\-](?:cli[_.\-])?(?:auth[_.\-]?token|secret[_.\-]?key|customer[_.\-]?secret)",
            r"[A-Za-z0-9!#$%()*+,\-./:;<=>?@\[\]^_{|}~]{20,44}",
        ),
        keywords=("oci_", "oci-", "oci."),
        secret_group=1,
        entropy=3.5,
        hint="delete the auth token or customer secret key in the OCI console (Identity > Users)",
        examples=("OCI_AUTH_TOKEN=c3LdPVfcFMaa(+TEwWxB", 'oci_secret_key: "D5nq9007kkCqwqH9ZBI/LitF19qryrftl5+6xqmV"'),
        counterexamples=("OCI_AUTH_TOKEN=${OCI_AUTH_TOKEN}", "oci_secret_key: aaaaaaaaaaaaaaaaaaaaaaaa"),
    ),
    Rule(
        id="yandex-cloud-api-key",
        description="Yandex Cloud API key",
        regex=r"\b(AQVN[A-Za-z0-9_\-]{35,38})" + END_TEXT,
        keywords=("aqvn",),
        entropy=3.5,
        hint="delete the service account's API key in the Yandex Cloud console",
        examples=(
            "YC_API_KEY=AQVNUARvyhs-BfShlGMlTgELCuIsEsoNL3Cb-qTU",
            'api_key: "AQVNIXZpR-kDes9XZiGUQcZ24rwPD3s8_sJ6Biu"',
        ),
        counterexamples=("YC_API_KEY=AQVNjVtevRop7Rk7NCiUwwGm", "api_key: AQVNxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ),
    # --- Linode, Scaleway, Hetzner, Vultr -------------------------------------------------
    Rule(
        id="linode-token",
        description="Linode (Akamai) personal access token",
        regex=near(r"linode", r"[a-f0-9]{64}"),
        keywords=("linode",),
        secret_group=1,
        entropy=3.0,
        hint=revoke_hint("Linode Cloud Manager (API Tokens)"),
        examples=(
            "LINODE_TOKEN=e5f8a2f81321830082cae65ed52b6ec7c80a101da64135f60191c1b3f016c8ec",
            'linode_api_token: "47e4d9cfdf67a5c08b7a5061935cf57d297a918407ff76bc1c9554cc0dfbb982"',
        ),
        counterexamples=("LINODE_TOKEN=8abb1869dec5c446a35953bd3df3b82b718d0cd8", "linode_token: ${LINODE_TOKEN}"),
    ),
    Rule(
        id="scaleway-access-key",
        description="Scaleway access key ID",
        regex=r"\b(SCW[A-Z0-9]{17})\b",
        keywords=("scw",),
        entropy=3.0,
        hint="delete the API key in the Scaleway console (IAM > API keys)",
        examples=("SCW_ACCESS_KEY=SCW54TO4FM67UJ0A4CQN", 'access_key: "SCWYCTJU59A050WEPA4M"'),
        counterexamples=("SCW_ACCESS_KEY=SCWXXXXXXXXXXXXXXXXX", "SCW_ACCESS_KEY=SCWAP7A9EVTK7"),
    ),
    Rule(
        id="scaleway-secret-key",
        description="Scaleway secret key",
        regex=near(r"scw[_.\-]?secret|scaleway[\w.\-]{0,20}?secret", UUID_LOWER),
        keywords=("scw_secret", "scw-secret", "scwsecret", "scaleway"),
        secret_group=1,
        entropy=3.0,
        hint="delete the API key in the Scaleway console (IAM > API keys)",
        examples=(
            "SCW_SECRET_KEY=24cf84a6-0627-44ee-a462-749c49ed9f06",
            'scaleway_secret_key: "b1c9f82f-d02c-40e2-a587-ebc73bc4ba65"',
        ),
        counterexamples=("SCW_SECRET_KEY=11111111-1111-1111-1111-111111111111", "SCW_SECRET_KEY=${SCW_SECRET_KEY}"),
    ),
    Rule(
        id="hetzner-cloud-token",
        description="Hetzner Cloud API token",
        regex=near(r"hcloud|hetzner", r"[A-Za-z0-9]{64}"),
        keywords=("hcloud", "hetzner"),
        secret_group=1,
        entropy=3.5,
        hint=revoke_hint("the Hetzner Cloud console (Security > API tokens)"),
        examples=(
            "HCLOUD_TOKEN=sHMGFGmtQXQceZhCKgGSqtjB2iberTj7GHZuwBJBoW904OQrNSKrmSFH9n4kKNrN",
            'hetzner_api_token = "kHml5sNnWZJP4M4Uo4o3BcGD1B6XjcX7HTZMF9TLYBnFITaqeSv93uj779jUzrgC"',
        ),
        counterexamples=("HCLOUD_TOKEN=h1DZzxyGVDvv5hfTQfMEw6qSqkE1gwll", "hcloud_token: ${HCLOUD_TOKEN}"),
    ),
    Rule(
        id="vultr-api-key",
        description="Vultr API key",
        regex=near(r"vultr", r"[A-Z0-9]{36}"),
        keywords=("vultr",),
        secret_group=1,
        entropy=3.5,
        hint=revoke_hint("the Vultr customer portal (Account > API)"),
        examples=(
            "VULTR_API_KEY=77TPWCBB7BVHRELS9EVGVSCC9AQXF7QO61C3",
            'vultr_key: "GQ920Z439KT13YRRVLTQ8CXQNAWGPVFA6UA7"',
        ),
        counterexamples=("VULTR_API_KEY=LHWZD1DQCIWA7Y3QD0F2", "VULTR_API_KEY=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ),
)
