"""Choice of chat model by one setting: the offline planner, or any OpenAI-compatible endpoint."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from agent.settings import Settings


class ModelConfigurationError(Exception):
    """The model setting cannot be used as given (e.g. no API key for an OpenAI model)."""


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for. Nothing is contacted until the model is invoked."""
    if settings.model == "offline":
        from agent.planner.model import OfflinePlanner

        return OfflinePlanner()
    from langchain_openai import ChatOpenAI

    if settings.openai_api_key is None:
        raise ModelConfigurationError(
            f"COUNTERSIGN_MODEL={settings.model} needs OPENAI_API_KEY (any value for a local server)"
        )
    return ChatOpenAI(
        model=settings.model.removeprefix("openai:"),
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        use_responses_api=settings.openai_use_responses_api,
        timeout=settings.openai_timeout_seconds,
        temperature=0,
        max_retries=2,
        stream_usage=True,
    )
