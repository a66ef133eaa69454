"""What every job shares: one database engine per worker process, the chat model."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from callcenter.llm.base import ChatModel
from callcenter.settings import Settings, get_settings
from callcenter.store.db import make_engine, make_session_factory


@lru_cache(maxsize=4)
def factory_for(url: str) -> sessionmaker[Session]:
    # Created after the fork, on first use: engines must not cross a fork.
    return make_session_factory(make_engine(url))


def job_session_factory() -> sessionmaker[Session]:
    return factory_for(get_settings().sqlalchemy_url)


def build_chat_model(settings: Settings) -> ChatModel:
    """The configured model, imported lazily: workers that never summarise load nothing."""
    from callcenter.llm import make_chat_model

    return make_chat_model(settings)
