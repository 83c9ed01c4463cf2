"""Per-thread stdout redirection: interleaved threads leave ``sys.stdout`` as it was (contextlib's does not)."""

import io
import sys
import threading

from hls_gen.stdout import redirect_stdout


def test_interleaved_threads_restore_stdout_and_keep_their_output_apart():
    original = sys.stdout
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    bufs = {'a': io.StringIO(), 'b': io.StringIO()}

    def a():
        with redirect_stdout(bufs['a']):
            a_in.set()
            b_in.wait(5)
            print('from a')
        a_out.set()

    def b():
        a_in.wait(5)
        with redirect_stdout(bufs['b']):
            b_in.set()
            a_out.wait(5)  # a leaves first: with contextlib, a would restore the real stdout under b, and b
            print('from b')  # would then "restore" a's buffer for good
    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert sys.stdout is original
    assert bufs['a'].getvalue() == 'from a\n' and bufs['b'].getvalue() == 'from b\n'


def test_nested_in_one_thread():
    outer, inner = io.StringIO(), io.StringIO()
    original = sys.stdout
    with redirect_stdout(outer):
        print('1')
        with redirect_stdout(inner):
            print('2')
        print('3')
    assert sys.stdout is original and outer.getvalue() == '1\n3\n' and inner.getvalue() == '2\n'
