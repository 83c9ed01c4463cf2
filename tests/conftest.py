from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / 'shared'


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f'../shared is absent ({SHARED}); it holds the real reports and calibration these tests read')
    return SHARED
