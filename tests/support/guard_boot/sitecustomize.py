"""Test-only startup hook: guards a child process of the test suite against real LLM calls.

Python runs this at startup because the test session puts this directory on PYTHONPATH
(inherited by subprocesses and multiprocessing 'spawn' workers). It does nothing unless
`LOTSEN_TEST_LLM_GUARD` is set; see tests/support/llm_guard.py.
"""

import importlib.util
import os
import sys
from pathlib import Path

if os.environ.get("LOTSEN_TEST_LLM_GUARD"):
    _path = Path(__file__).resolve().parent.parent / "llm_guard.py"
    _spec = importlib.util.spec_from_file_location("lotsen_test_llm_guard", _path)
    if _spec is not None and _spec.loader is not None:
        _guard = importlib.util.module_from_spec(_spec)
        sys.modules[_spec.name] = _guard
        _spec.loader.exec_module(_guard)
        _guard.install_from_env()
