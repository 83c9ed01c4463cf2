"""Request limits: the body's size (413), the number of expressions in a request and each expression's size
(422). Expressions are counted on Python's ``ast`` parse of the text, before the sympy tree is built, so
an oversized one costs next to nothing to refuse; nothing in the text is evaluated."""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence

from hls_gen.errors import ExpressionError

from .config import Limits


class LimitError(ExpressionError):
    """A request asks more than a limit of the server allows (answered 422, or 413 for the body)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def check_expressions(texts: Sequence[str], limits: Limits, what: str = 'expressions') -> None:
    if len(texts) > limits.max_expressions:
        raise LimitError(f'{len(texts)} {what} in one request is more than the limit max_expressions='
                         f'{limits.max_expressions}; split the request')
    for i, t in enumerate(texts):
        check_expression(t, limits, i)


def check_expression(text: str, limits: Limits, index: int = 0) -> None:
    if not isinstance(text, str):
        raise ExpressionError(f'expression {index} is not a string')
    if len(text) > limits.max_expression_chars:
        raise LimitError(f'expression {index} has {len(text)} characters, more than the limit max_expression_chars='
                         f'{limits.max_expression_chars}')
    n = node_count(text)
    if n is not None and n > limits.max_nodes:
        raise LimitError(f'expression {index} has {n} nodes, more than the limit max_nodes={limits.max_nodes} '
                         f'per expression')


def node_count(text: str) -> int | None:
    """Expression nodes (numbers, names, operations, calls) in ``text``; None when it does not parse (the
    expression parser then says why)."""
    try:
        tree = ast.parse(text.strip().replace('^', '**'), mode='eval')
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return sum(isinstance(n, ast.expr) for n in ast.walk(tree))


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 without being read on (by its
    Content-Length when it has one, else while it streams in)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = int(max_bytes)

    def _message(self, n: int | None) -> str:
        size = f'{n} bytes' if n is not None else 'more bytes'
        return (f'the request body has {size}, more than the limit max_body_bytes={self.max_bytes}; '
                f'split the request')

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        for k, v in scope.get('headers', ()):
            if k == b'content-length':
                try:
                    n = int(v)
                except ValueError:
                    return await self._refuse(send, 'malformed Content-Length header', 400)
                if n > self.max_bytes:
                    return await self._refuse(send, self._message(n))
                return await self.app(scope, receive, send)
        # no Content-Length (a chunked body): read it whole, up to the limit, then hand it on
        chunks, seen = [], 0
        while True:
            msg = await receive()
            if msg['type'] != 'http.request':
                return  # the client went away
            chunks.append(msg.get('body', b''))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                return await self._refuse(send, self._message(None))
            if not msg.get('more_body', False):
                break
        body = b''.join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {'type': 'http.request', 'body': body, 'more_body': False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send, message: str, status: int = 413) -> None:
        body = json.dumps({'detail': message}).encode()
        await send({'type': 'http.response.start', 'status': status,
                    'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode()),
                                (b'connection', b'close')]})
        await send({'type': 'http.response.body', 'body': body})
