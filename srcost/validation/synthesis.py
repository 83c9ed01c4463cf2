"""Synthesis for validation: the chosen designs in batches on one backend, run on ``profiler.executors``, and
the firmware sources each design leaves for the user (its hls4ml project, its open-backend Verilog).

Each batch is one backend call (one tool process) in its own folder. The batches run on a
``profiler.executors.ThreadPool``: the work happens in the tool's subprocess, so threads suffice, and the
backend object stays in this process. A batch that fails is retried design by design, so one bad design
does not hide the others; a missing tool (``ToolNotFound``) fails the whole run.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from hls_gen import Design, SynthResult
from hls_gen.errors import SrcostError, ToolNotFound

DEADLINE_GRACE_S = 60.0  # on top of the backend's own timeout, before a batch is given up


def synth_command(design: Design, backend: str) -> str:
    """The ``srcost synth`` command line that synthesizes ``design`` alone on ``backend``."""
    from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART

    exprs = [e.text for e in design.outputs]  # exact: parses back to this design
    opts = ['--precision', str(design.precision)]
    for s in design.luts:
        opts += ['--lut', str(s)]
    if backend != 'open':
        opts += ['--backend', backend]
    if design.part != DEFAULT_PART:
        opts += ['--part', design.part]
    if design.clock_period_ns != DEFAULT_CLOCK_NS:
        opts += ['--clock-period', f'{design.clock_period_ns:g}']
    need = max(e.n_inputs for e in design.outputs)
    if design.n_inputs != max(need, 1):
        opts += ['--n-inputs', str(design.n_inputs)]
    if any(e.startswith('-') for e in exprs):  # '-0.5*x0' would read as an option: options first, then `--`
        return shlex.join(['srcost', 'synth', *opts, '--json', '--', *exprs])
    return shlex.join(['srcost', 'synth', *exprs, *opts, '--json'])


def synthesize_batch(be, designs: list[Design], workdir: Path, timeout_s: float) -> list[SynthResult | SrcostError]:
    """One batch; if the batch fails, each design alone so that one bad design does not hide the others.
    A missing tool (ToolNotFound) is raised."""
    try:
        return list(be.synthesize(designs, workdir, timeout_s=timeout_s))
    except ToolNotFound:
        raise
    except SrcostError as batch_error:
        if len(designs) == 1:
            return [batch_error]
    out: list[SynthResult | SrcostError] = []
    for i, d in enumerate(designs):
        try:
            out.append(be.synthesize([d], workdir / f'retry_{i}', timeout_s=timeout_s)[0])
        except ToolNotFound:
            raise
        except SrcostError as e:
            out.append(e)
    return out


def synthesize_all(be, unique: dict[str, Design], workdir: Path, timeout_s: float,
                   jobs: int | None = None) -> dict[str, SynthResult | SrcostError]:
    """Each design's result by digest: the designs dealt into one batch per core (``jobs``), each batch in
    ``workdir/batch<i>``, run on a ``ThreadPool``."""
    from profiler.executors import ThreadPool, run_all

    keys = list(unique)
    n = max(1, min(len(keys), jobs or os.cpu_count() or 1))
    chunks = [keys[i::n] for i in range(n)]

    def run_chunk(task: tuple[int, list[str]]):
        i, chunk = task
        try:
            return synthesize_batch(be, [unique[k] for k in chunk], workdir / f'batch{i}', timeout_s)
        except ToolNotFound as e:
            return e  # handed back whole, raised below

    finished = run_all(ThreadPool(run_chunk, n), list(enumerate(chunks)),
                       deadline_s=timeout_s * (max(len(c) for c in chunks) + 1) + DEADLINE_GRACE_S)  # the batch, then each alone
    out: dict[str, SynthResult | SrcostError] = {}
    for chunk, f in zip(chunks, finished):
        if isinstance(f.payload, ToolNotFound):
            raise f.payload
        if f.status == 'ok':
            out.update(zip(chunk, f.payload))
        else:  # the batch raised something other than a tool error, or ran past its deadline
            err = SrcostError(f'synthesis batch {f.status}: {f.payload}')
            out.update((k, err) for k in chunk)
    return out


def copy_verilog(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('obj_dir', '*.so', '*.o', '*.a', '*.d', '.srcost_binder'))


def write_hls4ml(design: Design, dst: Path, compiler: str) -> tuple[str | None, str | None]:
    """(project folder, None) or (None, why not): recorded on the design, never raised, since the synthesis
    results stay valid without it."""
    try:
        from hls_gen.hls4ml_project import write_project
    except ImportError as e:
        return None, f'hls_gen.hls4ml_project is not available: {e}'
    try:
        return str(write_project(design, dst, compiler=compiler).root), None
    except Exception as e:
        return None, f'{type(e).__name__}: {e}'


def write_verilog(design: Design, backend: str, synth_dir: Path, folder: Path) -> tuple[str | None, str | None]:
    """(Verilog folder, None) or (None, why not): the open backend's sources of ``design`` copied from its
    synthesis, or written anew when another backend synthesized it."""
    try:
        from hls_gen.backends.open import module_name

        src = next(synth_dir.glob(f'*/{module_name(design)}'), synth_dir / module_name(design))
        if backend != 'open' or not (src / 'src').is_dir():
            from hls_gen.backends.open import OpenBackend

            src = OpenBackend().write(design, folder / '.open_tmp').path
        copy_verilog(src, folder / 'verilog')
        shutil.rmtree(folder / '.open_tmp', ignore_errors=True)
        return str(folder / 'verilog'), None
    except Exception as e:
        return None, f'{type(e).__name__}: {e}'
