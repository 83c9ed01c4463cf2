"""The open backend: da4ml -> pipelined Verilog -> Yosys ``synth_xilinx -family xcup`` -> cell counts;
Verilator simulation for bit-accurate outputs and to confirm the latency in cycles."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..design import Design
from ..errors import SynthesisError
from ..result import SynthResult
from ..stdout import redirect_stdout
from ..tools import verilator_env, yosys_command, yosys_version
from ..tracing import EXACT_WORD_BITS, latency_cutoff, max_word_bits, predict
from .base import Deadline
from .pipelining import pipeline
from .roms import block_memfiles, block_tables, check_rom_style, register_block_reads, trace_tables, write_block_roms

NS_PER_LATENCY_UNIT = 0.35  # clock estimate model: da4ml latency units (adder levels) -> ns
NS_FIXED = 0.9  # register clock-to-out + setup + routing allowance
_PORTS = re.compile(r'input\s*\[(-?\d+):0\]\s*model_inp\s*,\s*output\s+reg\s*\[(-?\d+):0\]\s*model_out')
DISTRIBUTED_ROMS = '*\\lookup_table'  # Yosys's names of da4ml's ROM module, one per table
SIM_CFLAGS = '-std=c++17 -fPIC -O0'  # da4ml's build_binder.mk builds with -O
_ROM_ATTR = re.compile(r'\(\*\s*rom_style\s*=.*?\*\)')

_LUT_CELLS = re.compile(r'^(LUT[1-6]|SRL16E|SRLC32E|RAM\d+[XM]\d*.*)$')
_FF_CELLS = re.compile(r'^FD[RSCP]E$')
# the process's working directory is shared by its threads: held while a simulation has it changed
_CWD_LOCK = threading.Lock()

_LAT_BINDER = """
extern "C" void inference_at_latency(int32_t *c_inp, int32_t *c_out, size_t n_samples, size_t latency) {
    using C = %(cfg)s;
    auto dut = std::make_unique<typename C::dut_t>();
    size_t clk_req = n_samples + latency + 1;
    for (size_t t = 0; t < clk_req; ++t) {
        if (t < n_samples) write_input<C::N_inp, C::max_inp_bw>(dut->model_inp, &c_inp[t * C::N_inp]);
        dut->clk = 0; dut->eval(); dut->clk = 1; dut->eval();
        if (t >= latency && t - latency < n_samples)
            read_output<C::N_out, C::max_out_bw>(dut->model_out, &c_out[(t - latency) * C::N_out]);
    }
    dut->final();
}
"""


@dataclass
class Project:
    design: Design
    path: Path
    model: object  # da4ml VerilogModel
    comb: object
    pipe: object
    latency: int
    max_stage_latency: float
    n_block_reads: int = 0  # table reads through block RAM (hls_gen.backends.roms)

    @property
    def module(self) -> str:
        return module_name(self.design)

    @cached_property
    def ports(self) -> tuple[int, int]:
        """(input bits, output bits) of the top module; 0 output bits: every output is the constant 0."""
        m = _PORTS.search((self.path / f'src/{self.module}.v').read_text())
        if not m:
            raise SynthesisError(f'cannot read the ports of {self.module}.v', str(self.path))
        return int(m.group(1)) + 1, int(m.group(2)) + 1


def count_cells(cells: dict[str, int]) -> dict[str, int]:
    return {
        'lut': sum(n for c, n in cells.items() if _LUT_CELLS.match(c)),
        'ff': sum(n for c, n in cells.items() if _FF_CELLS.match(c)),
        'dsp': sum(n for c, n in cells.items() if c.startswith('DSP48E')),
        'bram_18k': cells.get('RAMB18E2', 0) + 2 * cells.get('RAMB36E2', 0),
        'uram': cells.get('URAM288', 0),
        'carry': cells.get('CARRY4', 0) + cells.get('CARRY8', 0),
    }


def stat_cells(path: Path) -> dict[str, dict[str, int]]:
    """{module: {cell type: count}} from Yosys's ``stat -json`` output, each kept submodule (a distributed
    ROM, synthesized once per table) counted into the modules that instantiate it, without Yosys's internal
    ``$`` cells."""
    modules = {m: {k: int(v) for k, v in st['num_cells_by_type'].items()}
               for m, st in json.loads(Path(path).read_text())['modules'].items()}
    flat: dict[str, dict[str, int]] = {}

    def total(m: str) -> dict[str, int]:
        if m not in flat:
            out: dict[str, int] = {}
            for cell, n in modules[m].items():
                for c, k in (total(cell).items() if cell in modules else [(cell, 1)]):
                    if not c.startswith('$'):
                        out[c] = out.get(c, 0) + n * k
            flat[m] = out
        return flat[m]

    return {m.removeprefix('\\'): total(m) for m in modules}


def _deadline(timeout_s: float | Deadline) -> Deadline:
    return timeout_s if isinstance(timeout_s, Deadline) else Deadline(timeout_s)


def module_name(design: Design) -> str:
    """Verilog module of a design: its name plus a digest prefix, unique within a batch."""
    return f'{design.name}_{design.digest()[:10]}'


SYNTH = 'synth_xilinx -family xcup -top srcost_batch -flatten -noiopad'
# A block ROM's registers merge into its read port before synth_xilinx's ``opt`` can fold a clamp into the
# address register as a synchronous reset (a reset address register is no read register, and the ROM, left
# asynchronous, has no block-RAM mapping: "no valid mapping found for memory"). ``memory_dff`` is the pass
# synth_xilinx runs later; here it runs on the block ROMs only, right after ``proc`` and ``flatten``.
BLOCK_PORTS_FIRST = [f'{SYNTH} -run :prepare', 'proc', 'flatten', 'memory_dff a:rom_style=block', f'{SYNTH} -run prepare:']


class OpenBackend:
    name = 'open'
    block_ports_first = True

    def __init__(self, verify_latency: bool = True, n_verify: int = 64, rom_style: str | None = None):
        self.verify_latency = verify_latency
        self.n_verify = n_verify
        # None: each design's own rom_style; else this style for every design
        self.rom_style = None if rom_style is None else check_rom_style(rom_style)

    def tool_version(self) -> str:
        import da4ml

        return f'da4ml {da4ml.__version__}; {yosys_version()}'

    # -- generation -------------------------------------------------------------------------------
    def write(self, design: Design, path: Path, deadline: Deadline | None = None) -> Project:
        """Trace and write the pipelined Verilog project of ``design`` into ``path`` (a fresh directory)."""
        from da4ml.codegen import VerilogModel

        traced, lut_tables = trace_tables(design)
        cutoff = latency_cutoff(traced.comb, design.clock_period_ns)
        block = block_tables(traced.comb, lut_tables, self.rom_style or design.rom_style)
        if block:  # each block ROM read starts a stage; da4ml's retiming would re-trace the reads off the boundaries
            pipe = pipeline(register_block_reads(traced.comb, block, cutoff), cutoff, retime=False).pipe
        else:
            pipe = pipeline(traced.comb, cutoff, deadline=deadline).pipe
        model = VerilogModel(
            pipe, module_name(design), path, latency_cutoff=cutoff, clock_period=design.clock_period_ns,
            part_name=design.part, print_latency=False,
        )
        model.write(metadata={'srcost_design': design.to_dict()})
        # da4ml's ROM asks for distributed RAM, which Yosys cannot map for async ROMs deeper than 64:
        # let Yosys build the ROM from LUTs instead (what Vivado does for a small asynchronous ROM).
        lut_v = path / 'src/static/lookup_table.v'
        lut_v.write_text(_ROM_ATTR.sub('(* rom_style = "logic" *)', lut_v.read_text()))
        n_block = write_block_roms(path / 'src', module_name(design), block_memfiles(pipe, block))
        worst = max((max(s.latency) - i * cutoff for i, s in enumerate(pipe.solutions) if len(s.latency)), default=0.0)
        return Project(design, path, model, traced.comb, pipe, len(pipe.solutions), float(worst), n_block)

    # -- synthesis --------------------------------------------------------------------------------
    def synthesize(self, designs: Sequence[Design], workdir: Path, timeout_s: float = 600) -> list[SynthResult]:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        unique: dict[str, Design] = {d.digest(): d for d in designs}
        deadline = _deadline(timeout_s)
        with redirect_stdout(sys.stderr):  # da4ml prints warnings; keep stdout for --json
            projects = {}
            for k, d in unique.items():
                deadline.left('tracing and pipelining')
                projects[k] = self.write(d, workdir / module_name(d), deadline)
            # the Verilator builds (one per design) run beside Yosys: two tools, two cores
            with ThreadPoolExecutor(max_workers=1) as pool:
                built = pool.submit(self._build_sims, [p for p in projects.values() if p.ports[1] > 0], deadline) \
                    if self.verify_latency else None
                stats = dict(zip(projects, self._yosys(list(projects.values()), workdir, deadline)))
                if built is not None:
                    built.result()
            version = self.tool_version()
            results: dict[str, SynthResult] = {}
            for k, p in projects.items():
                method = 'da4ml pipeline stages'
                if p.ports[1] == 0:
                    method += '; no logic: every output is the constant 0 at this precision'
                elif self.verify_latency:
                    self.confirm_latency(p, deadline)
                    method += ', confirmed by Verilator simulation'
                cells = stats[k]
                results[k] = SynthResult(
                    backend='open', tool='da4ml+yosys+verilator', tool_version=version, part=p.design.part,
                    precision=str(p.design.precision), clock_period_ns=p.design.clock_period_ns,
                    latency_best=p.latency, latency_worst=p.latency, ii=1, **count_cells(cells),
                    clock_estimate_ns=round(NS_FIXED + NS_PER_LATENCY_UNIT * max(p.max_stage_latency, 1.0), 3),
                    clock_estimate_method='estimate: da4ml logic depth per stage x 0.35 ns + 0.9 ns (no place and route)',
                    latency_method=method, design_digest=k, log_path=str(workdir / 'yosys.log'),
                    cells=tuple(sorted(cells.items())),
                )
        return [results[d.digest()] for d in designs]

    def _yosys(self, projects: list[Project], workdir: Path, timeout_s: float | Deadline) -> list[dict[str, int]]:
        """One Yosys run for all designs: each design's top is a kept submodule of one batch top, so Yosys's
        fixed cost per synthesis (most of the time for small designs) is paid once. A design whose every output
        is the constant 0 in its precision (e.g. ``0.0077*x0`` at ``ap_fixed<10,3>``) has zero-width ports and
        no logic: it gets no cells, without Yosys."""
        live = [p for p in projects if min(p.ports) > 0]
        cells = dict(zip((p.module for p in live), self._yosys_batch(live, workdir, timeout_s) if live else []))
        return [cells.get(p.module, {}) for p in projects]

    def _yosys_batch(self, projects: list[Project], workdir: Path, timeout_s: float | Deadline) -> list[dict[str, int]]:
        deadline = _deadline(timeout_s)
        tops = []
        for p in projects:
            for mem in (p.path / 'src/memfiles').glob('*.mem'):
                shutil.copy(mem, workdir / mem.name)  # $readmemh resolves names against Yosys's cwd
            tops.append((p.module, *p.ports))
        ports = ['input clk'] + [f'input [{w - 1}:0] i{k}, output [{o - 1}:0] o{k}' for k, (_, w, o) in enumerate(tops)]
        body = [f'  {mod} u{k} (.clk(clk), .model_inp(i{k}), .model_out(o{k}));' for k, (mod, _, _) in enumerate(tops)]
        (workdir / 'srcost_batch.v').write_text('module srcost_batch (' + ', '.join(ports) + ');\n' + '\n'.join(body) + '\nendmodule\n')
        files = sorted((projects[0].path / 'src/static').glob('*.v'))  # identical in every project
        for p in projects:
            files += sorted((p.path / 'src').glob(f'{p.module}_stage*.v')) + [p.path / f'src/{p.module}.v']
        script = [
            'read_verilog -defer -sv ' + ' '.join(str(f.relative_to(workdir)) for f in files) + ' srcost_batch.v',
            'hierarchy -top srcost_batch',
            'setattr -mod -set keep_hierarchy 1 ' + ' '.join(mod for mod, _, _ in tops),
            # a distributed ROM is synthesized once per table, not once per read (the jet nonlut <16,6> design
            # reads one 1024-entry sine 16 times); a block ROM stays flat, its address register merges into
            # the read port
            f'setattr -mod -set keep_hierarchy 1 {DISTRIBUTED_ROMS}',
            *(BLOCK_PORTS_FIRST if self.block_ports_first else [SYNTH]),
            'tee -q -o stat.json stat -json',
        ]
        (workdir / 'synth.ys').write_text('\n'.join(script) + '\n')
        log = workdir / 'yosys.log'
        try:
            with open(log, 'w') as fh:
                subprocess.run(
                    [*yosys_command(), '-q', '-l', 'yosys.log', '-s', 'synth.ys'], cwd=workdir, check=True,
                    timeout=deadline.left('Yosys', str(log)), stdout=fh, stderr=subprocess.STDOUT,
                )
        except subprocess.TimeoutExpired:
            raise deadline.expired('Yosys', str(log)) from None
        except subprocess.CalledProcessError as e:
            tail = log.read_text(errors='replace').strip().splitlines()[-1:] if log.exists() else []
            raise SynthesisError(f'Yosys failed (exit {e.returncode}): {" ".join(tail)}', str(log)) from None
        modules = stat_cells(workdir / 'stat.json')
        out = []
        for mod, _, _ in tops:
            if mod not in modules:
                raise SynthesisError(f'Yosys reported no module {mod}', str(log))
            out.append(modules[mod])
        return out

    # -- simulation -------------------------------------------------------------------------------
    def _build_sims(self, projects: list[Project], deadline: Deadline) -> None:
        for p in projects:
            self.compile_sim(p, deadline)

    def compile_sim(self, p: Project, timeout_s: float | Deadline = 600) -> ctypes.CDLL:
        deadline = _deadline(timeout_s)
        sim = p.path / 'sim'
        binder = sim / f'{p.module}_wrapper_binder.cc'
        if not (sim / '.srcost_binder').exists():
            cfg = f'{p.module}_wrapper_config'
            binder.write_text(binder.read_text() + _LAT_BINDER % {'cfg': cfg})
            (sim / '.srcost_binder').touch()
        env = verilator_env()
        env.update({'VM_PREFIX': f'{p.module}_wrapper', 'STAMP': 'srcost', 'EXTRA_CXXFLAGS': '', 'N_JOBS': '1'})
        lib = sim / f'lib{p.module}_wrapper_srcost.so'
        if not lib.exists():
            log = p.path / 'verilator.log'
            try:
                with open(log, 'w') as fh:
                    # -O0: the model runs a few thousand cycles; optimizing it costs g++ more than it saves
                    subprocess.run(['make', '-f', 'build_binder.mk', f'CFLAGS={SIM_CFLAGS}'], cwd=sim, env=env, check=True,
                                   timeout=deadline.left('Verilator build', str(log)), stdout=fh, stderr=subprocess.STDOUT)
            except subprocess.TimeoutExpired:
                raise deadline.expired('Verilator build', str(log)) from None
            except subprocess.CalledProcessError as e:
                raise SynthesisError(f'Verilator build failed (exit {e.returncode})', str(log)) from None
        return ctypes.CDLL(str(lib))

    def simulate(self, p: Project, X: np.ndarray, latency: int | None = None, timeout_s: float | Deadline = 600) -> np.ndarray:
        """Clock the RTL with one sample per cycle; read each output ``latency`` cycles after its input."""
        from da4ml.codegen.rtl.rtl_model import get_io_kifs

        deadline = _deadline(timeout_s)
        lib = self.compile_sim(p, deadline)
        deadline.left('Verilator simulation')
        kin, kout = get_io_kifs(p.pipe)
        f_in = int(np.max(kin[2]))
        k, i, f = (int(np.max(a)) for a in kout)
        n_in, n_out = p.pipe.shape
        Xq = p.design.precision.quantize(np.asarray(X, dtype=np.float64)).reshape(-1, n_in)
        n = Xq.shape[0]
        inp = np.ascontiguousarray(np.floor(Xq.ravel() * 2.0**f_in).astype(np.int32))
        out = np.zeros(n * n_out, dtype=np.int32)
        P = ctypes.POINTER(ctypes.c_int32)
        fn = lib.inference_at_latency
        fn.argtypes = [P, P, ctypes.c_size_t, ctypes.c_size_t]
        mem = p.path / 'src/memfiles'
        # $readmemh in the simulation model opens table files relative to the cwd, which is the process's:
        # simulations in other threads (srcost validate synthesizes its batches in threads) must wait
        with _CWD_LOCK:
            cwd = os.getcwd()
            os.chdir(mem)
            try:
                fn(inp.ctypes.data_as(P), out.ctypes.data_as(P), n, p.latency if latency is None else latency)
            finally:
                os.chdir(cwd)
        a, b, c = 2.0 ** (k + i + f), k * 2.0 ** (i + f), 2.0**-f
        return ((out.reshape(n, n_out) + b) % a - b) * c

    def confirm_latency(self, p: Project, timeout_s: float | Deadline = 600) -> None:
        """Confirm the pipeline latency by simulation. Inputs go in one per cycle; read ``latency`` cycles later,
        each output must belong to its own input (the same when the inputs are fed in another order) and, where
        the reference is exact (words up to EXACT_WORD_BITS), equal the traced logic; read one cycle earlier, it
        must not."""
        rng = np.random.default_rng(0)
        prec = p.design.precision
        n = self.n_verify
        Xq = prec.quantize(rng.uniform(prec.min_value, prec.max_value, (n, p.design.n_inputs)))
        perm = rng.permutation(n)
        inv = np.argsort(perm)
        got = self.simulate(p, Xq, timeout_s=timeout_s)
        again = self.simulate(p, Xq[perm], timeout_s=timeout_s)[inv]
        if not np.array_equal(got, again):
            raise SynthesisError(f'outputs of {p.design.name} depend on neighbouring inputs at latency {p.latency}', str(p.path))
        if max_word_bits(p.comb) <= EXACT_WORD_BITS:  # the reference is exact
            ref = predict(p.comb, Xq)
            if not np.array_equal(got, ref):
                raise SynthesisError(f'RTL simulation of {p.design.name} disagrees with the traced logic', str(p.path))
        if p.latency > 0 and len(np.unique(got, axis=0)) > 1:
            early = self.simulate(p, Xq, latency=p.latency - 1, timeout_s=timeout_s)
            early_perm = self.simulate(p, Xq[perm], latency=p.latency - 1, timeout_s=timeout_s)[inv]
            if np.array_equal(early, got) and np.array_equal(early_perm, got):
                raise SynthesisError(f'outputs of {p.design.name} are valid before the claimed latency {p.latency}', str(p.path))

    def emulate(self, design: Design, X: np.ndarray, workdir: Path, timeout_s: float = 600) -> np.ndarray:
        """Bit-accurate firmware outputs by Verilator simulation of the open backend's RTL."""
        with redirect_stdout(sys.stderr):
            p = self.write(design, Path(workdir) / module_name(design))
            return self.simulate(p, X, timeout_s=timeout_s)
