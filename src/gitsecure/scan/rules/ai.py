"""AI and machine-learning APIs: model providers, inference hosts, vector stores and MLOps.

These keys are billed per use, so a leaked one costs money within minutes of
being pushed. Google AI Studio keys (``AIza...``) are Google API keys and live
in the cloud rules, not here.
"""

from __future__ import annotations

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules.patterns import END_LINE, assigned

_KEY = r"(?:api[_.\-]?)?(?:key|token|secret)"


_OPENAI_HINT = "Revoke the key at platform.openai.com (API keys, or Admin keys) and create a new one."

RULES: tuple[Rule, ...] = (
    Rule(
        id="openai-project-key",
        description="OpenAI project API key",
        regex=r"\b(sk-proj-[A-Za-z0-9_\-]{40,250})" + END_LINE,
        keywords=("sk-proj-",),
        entropy=3.5,
        secret_type="OpenAI Token",
        hint=_OPENAI_HINT,
        examples=(
            "OPENAI_API_KEY=sk-proj-v4nD2XxLASWq5G5TQ_JvqwFhNKV-DV6qlMPYweEkFdr57hwfL67O9wALQpuvT3BlbkFJW9ZaPP5FHqm1MIcRg6SUo7os8tBEXOHJqISbcCszvQKy_bFwVtliuG6BcGUS",
            'client = OpenAI(api_key="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")',
        ),
        counterexamples=(
            "OPENAI_API_KEY=sk-proj-ze7opy33RC4Mlu0AdZvl",
            "OPENAI_API_KEY=sk-proj-...",
            "openai_api_key: {{ .Values.openai.apiKey }}",
        ),
        tags=("ai",),
    ),
    Rule(
        id="openai-service-account-key",
        description="OpenAI service account API key",
        regex=r"\b(sk-svcacct-[A-Za-z0-9_\-]{40,250})" + END_LINE,
        keywords=("sk-svcacct-",),
        entropy=3.5,
        secret_type="OpenAI Token",
        hint=_OPENAI_HINT,
        examples=(
            "OPENAI_API_KEY=sk-svcacct-brfEJmmOz6SWuGZbgJGhgqqs0-BvH_0R80FkWBsNqy1lDAxv9zgvmNMmGKfcT3BlbkFJnKAQIcBgS_Y1JwCD6BilV-a0CPwTzmyY4ATu3u5-PTWXUwfL3E0Ci6YhR7Ri",
            "  openai_key: 'sk-svcacct-wtG87paHdLs9uvpWr81zlrdvY3ZktmG2Q5sA4rJpxoot6z1ogLiDvy1wkRUlsU6lanqJZ9T3BlbkFJVRL2G1KQ25rOStdirQw7bceyZhvuMm09NykcDAwgyhWIGsi6SjtvT1p5yrox5OGswRrpSj'",
        ),
        counterexamples=(
            "OPENAI_API_KEY=sk-svcacct-ILvdvn6yCEIRrQtjsOCT",
            "OPENAI_API_KEY=sk-svcacct-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
        tags=("ai",),
    ),
    Rule(
        id="openai-admin-key",
        description="OpenAI admin API key",
        regex=r"\b(sk-admin-[A-Za-z0-9_\-]{40,250})" + END_LINE,
        keywords=("sk-admin-",),
        entropy=3.5,
        secret_type="OpenAI Token",
        hint=_OPENAI_HINT,
        examples=(
            "OPENAI_ADMIN_KEY=sk-admin-n_Nlsh_iddlhxf4P_ssXR8zEaQrs8MlZGdSO-izMQD5Q31XgxeFxdt81AiKDT3BlbkFJjAb4Gu5vvtfIgVp-Q8SZpIInLkJw3fsdRMnKtpktXpkXQBFZ9pSyU5G68vxP",
            'headers = {"Authorization": "Bearer sk-admin-jiCJ6yUNJRypFWHQ5o1Us3M49f3J2aFVTAZNml1lChlnV4kHQP5pGlSWXkibeVf1L84qcAaJgHsT2Ny6"}',
        ),
        counterexamples=(
            "OPENAI_ADMIN_KEY=sk-admin-IyDeZ2Rnn6Cm5WPp",
            "OPENAI_ADMIN_KEY=sk-admin-...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="openai-legacy-key",
        description="OpenAI API key (legacy user key format)",
        regex=r"\b(sk-(?:None-)?[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})\b",
        keywords=("t3blbkfj",),
        entropy=3.5,
        secret_type="OpenAI Token",
        hint=_OPENAI_HINT,
        examples=(
            "OPENAI_API_KEY=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",
            "openai.api_key = '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'",
        ),
        counterexamples=(
            "OPENAI_API_KEY=sk-5a8opX7NcCT3BlbkFJDQLM2LCFsUflRvqORbzo",
            "OPENAI_API_KEY=sk-srYGryEdQUi3bwHl2MK6dtrZNlWCE1WcLcntMBAjHKpDkLHj",
        ),
        tags=("ai",),
    ),
    Rule(
        id="anthropic-api-key",
        description="Anthropic API key",
        regex=r"\b(sk-ant-api03-[A-Za-z0-9_\-]{93}AA)" + END_LINE,
        keywords=("sk-ant-api",),
        entropy=3.5,
        hint="Delete the key in the Claude Console (Settings > API keys) and create a new one.",
        examples=(
            "ANTHROPIC_API_KEY=sk-ant-api03-aUCTTfrc_7C0AHekZEOXwLLrx3BpVeJvmTytv6--WbPLpOosd4mkQb1S1udi1UnVIjxJdDDIzvUZQPGHEoa6dqQE4SiY2AA",
            'client = anthropic.Anthropic(api_key="sk-ant-api03-SKqWHywy2vK9rRL79SjS71FyayBSSjYGQTwew5CTCQbcG8ehiQbpUaYLQN4XZ7lrakMXuIrzKUVOSYCOdBc80M836AQsxAA")',
        ),
        counterexamples=(
            "ANTHROPIC_API_KEY=sk-ant-api03-M0SZQvPXDHigViMb8qpWGUFmdsZu2EAA",
            "ANTHROPIC_API_KEY=sk-ant-...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="anthropic-admin-key",
        description="Anthropic Admin API key",
        regex=r"\b(sk-ant-admin01-[A-Za-z0-9_\-]{93}AA)" + END_LINE,
        keywords=("sk-ant-admin",),
        entropy=3.5,
        hint="Delete the admin key in the Claude Console (Settings > Admin keys) and create a new one.",
        examples=(
            "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-5EqkgQ3DtPp-Ud1v3RW3lyIYzIZMfRPl2nInmkfNBKctygjecQoImGrC6ARiMGE3X_HO2yCMA4rQSZTUnKYmhVdJtG37eAA",
            "  x-api-key: 'sk-ant-admin01-FOnla8olwHH5F4OC9H8t34Xvljo3NkmZqqwfFDtNXg8f889ne1mJTPhsbM42d717mSAVbrgN5jcg1gDZTWojyqnnGqx4DAA'",
        ),
        counterexamples=(
            "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-nIGF079YVjYXbNN9y0Lm4SMQcTfTDftZZyjeJHYE",
            "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="huggingface-token",
        description="Hugging Face user access token",
        regex=r"\b(hf_[A-Za-z0-9]{34})\b",
        keywords=("hf_",),
        entropy=3.5,
        hint="Invalidate the token at huggingface.co/settings/tokens and create a new one.",
        examples=(
            "HF_TOKEN=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",
            "login(token='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')",
        ),
        counterexamples=(
            "HF_TOKEN=hf_VrddyLixbCSR",
            "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "model_hf_zbauoafdlreafgpadaphrtuyumnnwkqtte",
        ),
        tags=("ai",),
    ),
    Rule(
        id="huggingface-org-token",
        description="Hugging Face organization API token (legacy)",
        regex=r"\b(api_org_[A-Za-z0-9]{34})\b",
        keywords=("api_org_",),
        entropy=3.5,
        hint="Delete the organization token in the Hugging Face organization settings.",
        examples=(
            "HF_ORG_TOKEN=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",
            "hub_token: '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'",
        ),
        counterexamples=(
            "HF_ORG_TOKEN=api_org_bvHOIuxJUvGx",
            "HF_ORG_TOKEN=api_org_...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="cohere-api-key",
        description="Cohere API key",
        regex=assigned(r"(?:cohere|\bco)", _KEY, r"[A-Za-z0-9]{40}") + r"\b",
        keywords=("cohere", "co_api_key"),
        entropy=3.5,
        hint="Delete the key in the Cohere dashboard (API keys) and create a new one.",
        examples=(
            "COHERE_API_KEY=SB1Hq1uEQtB8E8v3Z8m0TDJ0aWzW6aCa3qd4FLhl",
            "CO_API_KEY='z8tECIF7N0nH4cf2FJbT3OuZuUsgBeZOfGNCCQds'",
        ),
        counterexamples=(
            "COHERE_API_KEY=SHHONBzYHCuu26KAWMMO",
            "COHERE_MODEL=command-r-plus",
        ),
        tags=("ai",),
    ),
    Rule(
        id="replicate-api-token",
        description="Replicate API token",
        regex=r"\b(r8_[A-Za-z0-9]{37})\b",
        keywords=("r8_",),
        entropy=3.5,
        hint="Revoke the token at replicate.com/account/api-tokens.",
        examples=(
            "REPLICATE_API_TOKEN=r8_mgXJiTbep4J3nBAGds4yfQDi6H7yrmTtlZsc5",
            "client = replicate.Client(api_token='r8_0DAaojz5wAXguCuMJXDHV8ryr4KSRG1g3YLyB')",
        ),
        counterexamples=(
            "REPLICATE_API_TOKEN=r8_n3ANUEWSl05c",
            "REPLICATE_API_TOKEN=r8_...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="groq-api-key",
        description="Groq API key",
        regex=r"\b(gsk_[A-Za-z0-9]{52})\b",
        keywords=("gsk_",),
        entropy=3.5,
        hint="Delete the key at console.groq.com/keys and create a new one.",
        examples=(
            "GROQ_API_KEY=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",
            "client = Groq(api_key='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')",
        ),
        counterexamples=(
            "GROQ_API_KEY=gsk_gjbwGFlja398GrxR64jz",
            "GROQ_API_KEY=gsk_...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="perplexity-api-key",
        description="Perplexity API key",
        regex=r"\b(pplx-[A-Za-z0-9]{48})\b",
        keywords=("pplx-",),
        entropy=3.5,
        hint="Revoke the key in Perplexity (Settings > API) and generate a new one.",
        examples=(
            "PERPLEXITY_API_KEY=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",
            "headers = {'Authorization': 'Bearer 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'}",
        ),
        counterexamples=(
            "PERPLEXITY_API_KEY=pplx-v4gTBxfHyXcsg47q",
            "PERPLEXITY_API_KEY=pplx-...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="mistral-api-key",
        description="Mistral AI API key",
        regex=assigned("mistral", _KEY, r"[A-Za-z0-9]{32}") + r"\b",
        keywords=("mistral",),
        entropy=3.5,
        hint="Delete the key in Mistral La Plateforme (API Keys) and create a new one.",
        examples=(
            "MISTRAL_API_KEY=6u2Or3zfm01gw36lABlz1CJNGgcaB0f2",
            'mistralApiKey: "GPJxFwVhZaP3Pfx1TpMcrFZIyFPVE9HG"',
        ),
        counterexamples=(
            "MISTRAL_API_KEY=kr7uIpEnj88AkVJn",
            "MISTRAL_MODEL=mistral-large-latest",
        ),
        tags=("ai",),
    ),
    Rule(
        id="xai-api-key",
        description="xAI (Grok) API key",
        regex=r"\b(xai-[A-Za-z0-9]{80})\b",
        keywords=("xai-",),
        entropy=3.5,
        hint="Delete the key in the xAI console (API Keys) and create a new one.",
        examples=(
            "XAI_API_KEY=xai-DXCRKLJavcXhsKx9ez4hXcw1ckCgHkFMc8Zeq7YPcauDrmbuRu7KGJ0UOnfPk2BepJI6NhQQs4zbaDQ6",
            "client = Client(api_key='xai-Ek8IchkjhVM5wyH2EA6DNKoFagfHPgyt3MChcoxUg4lPerUevqM8jUcvBXIetYuNxSmo4MdlV7n12nY5')",
        ),
        counterexamples=(
            "XAI_API_KEY=xai-SFKY8HEp0bF8IicABvtC7SwYos9Arn",
            "XAI_API_KEY=xai-...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="deepseek-api-key",
        description="DeepSeek API key",
        # The provider's name may come before the key (an env var) or after it (the base URL in the same call).
        regex=r"(?i:deepseek).{0,60}?\b(sk-[a-f0-9]{32})\b|\b(sk-[a-f0-9]{32})\b.{0,80}?(?i:deepseek)",
        keywords=("deepseek",),
        entropy=3.0,
        hint="Delete the key at platform.deepseek.com/api_keys and create a new one.",
        examples=(
            "DEEPSEEK_API_KEY=sk-4318b1dacd47e6b8db904880c31a3100",
            'client = OpenAI(api_key="sk-ce7562a24012bf84567f521f407a51ae", base_url="https://api.deepseek.com")',
        ),
        counterexamples=(
            "DEEPSEEK_API_KEY=sk-902b6ad24bfd828e",
            "DEEPSEEK_MODEL=deepseek-chat",
        ),
        tags=("ai",),
    ),
    Rule(
        id="together-api-key",
        description="Together AI API key",
        regex=assigned(r"together(?:[_.\-]?ai)?", _KEY, r"tgp_v1_[A-Za-z0-9_\-]{40,50}|[a-f0-9]{64}") + END_LINE,
        keywords=("together",),
        entropy=3.5,
        hint="Delete the key in the Together AI dashboard (Settings > API Keys) and create a new one.",
        examples=(
            "TOGETHER_API_KEY=61e22f0fd08df985948498083f34a6dd32209edf57748cf3e172be39c75940a8",
            "together_ai_key: 'tgp_v1_hBy7WpGJt_quK1wnSz7aEKt5_3-dBClxA0fua-8ZooV'",
        ),
        counterexamples=(
            "TOGETHER_API_KEY=3058291d9e88744f5729ae2bcea0b341",
            "TOGETHER_MODEL=meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
        tags=("ai",),
    ),
    Rule(
        id="fireworks-api-key",
        description="Fireworks AI API key",
        regex=r"\b(fw_[A-Za-z0-9]{24})\b",
        keywords=("fw_",),
        entropy=3.5,
        hint="Delete the key in Fireworks AI (Settings > API Keys) or with `firectl delete api-key`.",
        examples=(
            "FIREWORKS_API_KEY=fw_nTz2mKZ4J3IGknEr9VJIX5NG",
            "client = Fireworks(api_key='fw_2r2rrUSpmejHNDdMa4kvpHgq')",
        ),
        counterexamples=(
            "FIREWORKS_API_KEY=fw_qDPuMs5CWV4c",
            "fw_version = '1.2.3'",
        ),
        tags=("ai",),
    ),
    Rule(
        id="elevenlabs-api-key",
        description="ElevenLabs API key",
        regex=r"(?i:elevenlabs|eleven_labs|xi[_\-]api[_\-]key).{0,60}?\b(sk_[a-f0-9]{48}|[a-f0-9]{32})\b",
        keywords=("elevenlabs", "eleven_labs", "xi-api-key", "xi_api_key"),
        entropy=3.0,
        hint="Delete the key in ElevenLabs (Developers > API Keys) and create a new one.",
        examples=(
            "ELEVENLABS_API_KEY=sk_ded0ba9ebe3ed4c6a1c9c591720809ba8cd479c21674519d",
            "headers = {'xi-api-key': 'cc619a70e2e309de3c5210ffc813052a'}",
        ),
        counterexamples=(
            "ELEVENLABS_API_KEY=sk_4e42b6cf8b307555ab7c",
            "ELEVENLABS_VOICE_ID=ZPxVCfrujraaB5NPR6ua",
        ),
        tags=("ai",),
    ),
    Rule(
        id="pinecone-api-key",
        description="Pinecone API key",
        regex=r"\b(pcsk_[A-Za-z0-9]{4,10}_[A-Za-z0-9]{40,80})\b",
        keywords=("pcsk_",),
        entropy=3.5,
        hint="Delete the key in the Pinecone console (API keys) and create a new one.",
        examples=(
            "PINECONE_API_KEY=pcsk_ITfFpv_wJcro3gjVbPJC3ym67ctdAMowam3sGfnL6GUYoorLhKIHBBXJMkfW9XYq0iBiTm",
            "pc = Pinecone(api_key='pcsk_Lj3v9_svj2II2FMvOxrGMZu1MlKbDfd5tseOZtqLrase18nKJcQWod9xXWrfaXhmV5D0mS')",
        ),
        counterexamples=(
            "PINECONE_API_KEY=pcsk_Q1bdvl_g8Y1JXUk0ZJW",
            "PINECONE_API_KEY=pcsk_...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="langsmith-api-key",
        description="LangSmith personal access token or service key",
        regex=r"\b(lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10})\b",
        keywords=("lsv2_",),
        entropy=3.0,
        hint="Delete the key in LangSmith (Settings > API Keys) and create a new one.",
        examples=(
            "LANGSMITH_API_KEY=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",
            "LANGCHAIN_API_KEY='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'",
        ),
        counterexamples=(
            "LANGSMITH_API_KEY=lsv2_pt_a73cf07a616d6327_4e8ac4d425",
            "LANGSMITH_API_KEY=lsv2_pt_...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="wandb-api-key",
        description="Weights & Biases API key",
        regex=(
            r"(?:"
            + assigned(r"(?:wandb|weights[_.\-]?and[_.\-]?biases)", r"(?:api[_.\-]?)?key", r"[a-f0-9]{40}")
            + r"|\bwandb\s+login\s+(?:--relogin\s+)?([a-f0-9]{40}))\b"
        ),
        keywords=("wandb", "weights_and_biases", "weightsandbiases"),
        entropy=3.0,
        hint="Revoke the key at wandb.ai/authorize (User settings > API keys) and create a new one.",
        examples=(
            "WANDB_API_KEY=c2afac52dce6fad0bb7a875ceb2386a663446e3c",
            "wandb login 8b2c26f3bb4d7c4a7220bf7d3b46cae2acbb7556",
        ),
        counterexamples=(
            "WANDB_API_KEY=ba9d2bceb7604b3cccb8",
            "WANDB_PROJECT=my-experiments",
        ),
        tags=("ai",),
    ),
    Rule(
        id="openrouter-api-key",
        description="OpenRouter API key",
        regex=r"\b(sk-or-v1-[a-f0-9]{64})\b",
        keywords=("sk-or-v1-",),
        entropy=3.0,
        hint="Delete the key at openrouter.ai/settings/keys and create a new one.",
        examples=(
            "OPENROUTER_API_KEY=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",
            "client = OpenAI(base_url='https://openrouter.ai/api/v1', api_key='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')",
        ),
        counterexamples=(
            "OPENROUTER_API_KEY=sk-or-v1-a5a6cb9e03654c04143b",
            "OPENROUTER_API_KEY=sk-or-v1-...",
        ),
        tags=("ai",),
    ),
    Rule(
        id="assemblyai-api-key",
        description="AssemblyAI API key",
        regex=assigned(r"assembly[_.\-]?ai", _KEY, r"[a-f0-9]{32}") + r"\b",
        keywords=("assemblyai", "assembly_ai", "assembly-ai"),
        entropy=3.0,
        hint="Reset the key in the AssemblyAI dashboard (API Keys).",
        examples=(
            "ASSEMBLYAI_API_KEY=bf58e64ff9ac39f9b4a0fc1e99903c1a",
            "assemblyai_api_key = '9c3bc786d86302e8c67aeec6a1c5619b'",
        ),
        counterexamples=(
            "ASSEMBLYAI_API_KEY=9929f5a8586c726a",
            "ASSEMBLYAI_API_KEY=your-assemblyai-key",
        ),
        tags=("ai",),
    ),
    Rule(
        id="deepgram-api-key",
        description="Deepgram API key",
        regex=assigned("deepgram", _KEY, r"[a-f0-9]{40}") + r"\b",
        keywords=("deepgram",),
        entropy=3.0,
        hint="Delete the key in the Deepgram console (API Keys) and create a new one.",
        examples=(
            "DEEPGRAM_API_KEY=13326ebb415c6bdd9f3e751131688873eda7aac7",
            'deepgramApiKey: "7d24a0eda1578ac82df2e88384cd8b2a9d80ae11"',
        ),
        counterexamples=(
            "DEEPGRAM_API_KEY=9735808e37f35fd1f341",
            "DEEPGRAM_MODEL=nova-2",
        ),
        tags=("ai",),
    ),
)
