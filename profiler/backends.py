"""Which backend a profiling run uses: a registered name (``open``, ``vivado_hls``, ``vitis_hls``) or, as
a plugin hook for tests and third-party backends, ``package.module:ClassName`` (it must follow
``hls_gen.backends.base.Backend``). ``options`` are keyword arguments of the backend's constructor
(``--backend-opt verify_latency=false``)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Mapping

from .errors import ProfilerError


def parse_backend_options(items: Iterable[str] | None) -> dict:
    """``['verify_latency=false', 'n_verify=16']`` -> {'verify_latency': False, 'n_verify': 16}."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition('=')
        if not sep or not key.strip().isidentifier():
            raise ProfilerError(f'cannot parse backend option {item!r}: expected KEY=VALUE, e.g. verify_latency=false')
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def load_backend(spec: str, options: Mapping | None = None):
    spec = (spec or '').strip()
    options = dict(options or {})
    if ':' in spec:
        module_name, _, attr = spec.partition(':')
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ProfilerError(f'cannot import backend module {module_name!r} (from --backend {spec!r}): {e}') from None
        cls = getattr(module, attr, None)
        if cls is None:
            raise ProfilerError(f'module {module_name!r} has no {attr!r} (from --backend {spec!r})')
        try:
            backend = cls(**options)
        except TypeError as e:
            raise ProfilerError(f'cannot create backend {spec!r} with options {options}: {e}') from None
    else:
        from hls_gen.backends import get_backend

        try:
            backend = get_backend(spec, **options)
        except ValueError as e:
            raise ProfilerError(f'{e}, or give module:Class for a plugin backend') from None
        except TypeError as e:
            raise ProfilerError(f'backend {spec!r} does not take the options {options}: {e}') from None
    for attr in ('name', 'synthesize', 'tool_version'):
        if not hasattr(backend, attr):
            raise ProfilerError(f'backend {spec!r} has no {attr!r}: it does not follow the Backend protocol')
    return backend
