"""The pull-request reviewer: fetch → diff → prioritize → analyze → triage → report → publish → cleanup.

It runs from the command line (``pr-review``) and as the container of each per-PR Job
(``pr-review-job``); both drive the same LangGraph workflow in :mod:`pr_reviewer.graph`.
"""
