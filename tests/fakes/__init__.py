"""Fake external services (OpenAI-compatible endpoint, GitHub API) served on 127.0.0.1 for tests."""
