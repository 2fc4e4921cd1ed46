"""The LLM layer: tiers, chat models, validated structured decisions, the tool loop, usage.

Not an agent: every agent reasons through it. `llm.doubles` holds its scripted test doubles
(fake chat model, OpenAI-compatible server), used by the tests and the eval suite.
"""
