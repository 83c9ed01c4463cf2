"""Synthesis backends, loaded lazily by name."""

from __future__ import annotations

from .base import Backend, Deadline, SynthesisTimeout, require_tool

BACKENDS = ('open', 'vivado_hls', 'vitis_hls')


def get_backend(name: str, **options) -> Backend:
    if name == 'open':
        from .open import OpenBackend

        return OpenBackend(**options)
    if name in ('vivado_hls', 'vitis_hls'):
        from .vivado import HLSBackend

        return HLSBackend(compiler=name, **options)
    raise ValueError(f'unknown backend {name!r}; choose one of {", ".join(BACKENDS)}')


__all__ = ['Backend', 'BACKENDS', 'Deadline', 'SynthesisTimeout', 'get_backend', 'require_tool']
