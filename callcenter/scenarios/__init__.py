"""Scenario suites: scripted callers run in text through the call's dialogue engine.

``spec`` (what a scenario is), ``text_call`` (a call without audio), ``target`` (the
published set or one draft), ``sandbox`` (a rolled-back transaction), ``runner`` (play
and judge), ``defaults`` (the shipped suite from the benchmark's goals).
"""
