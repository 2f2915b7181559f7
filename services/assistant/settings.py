"""The assistant's own settings, read once from the environment beside the common ones."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

from services.common.settings import SettingsError


@dataclass(frozen=True)
class AssistantSettings:
    # An OpenAI-compatible chat-completions endpoint (its base URL, e.g. http://127.0.0.1:8000/v1);
    # empty means the deterministic engine alone.
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_seconds: float = 30.0
    max_conversations: int = 10_000
    conversation_idle_seconds: float = 3_600.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AssistantSettings:
        env = dict(os.environ if env is None else env)
        url = env.get("MEDCODE_LLM_URL", "").strip().rstrip("/")
        model = env.get("MEDCODE_LLM_MODEL", "").strip()
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise SettingsError(
                    f"MEDCODE_LLM_URL={url!r} is not an http(s) URL (for example http://127.0.0.1:8000/v1)"
                )
            if not model:
                raise SettingsError(
                    "MEDCODE_LLM_URL is set but MEDCODE_LLM_MODEL is not: name the model to ask"
                )
        return cls(
            llm_url=url,
            llm_model=model,
            llm_api_key=env.get("MEDCODE_LLM_API_KEY", ""),
            llm_timeout_seconds=_positive(env, "MEDCODE_LLM_TIMEOUT_SECONDS", 30.0),
            max_conversations=int(_positive(env, "MEDCODE_ASSISTANT_MAX_CONVERSATIONS", 10_000)),
            conversation_idle_seconds=_positive(env, "MEDCODE_ASSISTANT_CONVERSATION_IDLE_SECONDS", 3_600.0),
        )


def _positive(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be above 0")
    return value
