from tests.support.live_app import live_app, live_engine, live_factory

__all__ = ["live_app", "live_engine", "live_factory"]
