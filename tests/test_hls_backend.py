"""The Vivado/Vitis HLS backend with fake tools on PATH, and writing the hls4ml project."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from hls_gen import Design
from hls_gen.backends import get_backend
from hls_gen.backends.vivado import BUILD_ARGS, HLSBackend
from hls_gen.errors import SynthesisError, ToolNotFound
from hls_gen.hls4ml_project import write_project

SYSTEM_PATH = '/usr/bin:/bin'


@pytest.fixture
def design() -> Design:
    return Design.build(['2.1*x0*x1 + sin_lut(x2) - x3**2'], 'ap_fixed<16,6>', luts=['sin:1024:-4:4'])


def _fake_tool(bin_dir: Path, name: str, body: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    tool = bin_dir / name
    tool.write_text(
        '#!/bin/bash\n'
        'if [ "$1" = "-version" ]; then\n'
        '  echo "****** Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC v2020.1 (64-bit)"; exit 0\n'
        'fi\n'
        'printf "%s\\n" "$@" > fake_args.txt\n' + body
    )
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return tool


def _copy_report_body(report: Path) -> str:
    return (
        'name=$(sed -n \'s/^set project_name "\\(.*\\)"$/\\1/p\' project.tcl)\n'
        'test -f build_prj.tcl || { echo "no build_prj.tcl"; exit 3; }\n'
        'test -f "firmware/$name.cpp" || { echo "no firmware/$name.cpp"; exit 4; }\n'
        'mkdir -p "${name}_prj/solution1/syn/report"\n'
        f'cp "{report}" "${{name}}_prj/solution1/syn/report/${{name}}_csynth.xml"\n'
        'echo "INFO: [HLS 200-111] Finished Command csynth_design"\n'
    )


@pytest.fixture
def userlut_top(shared_dir: Path) -> Path:
    """The top-level report of the real 'userlut' design (shared_dir skips when ../shared is absent)."""
    return shared_dir / 'fixtures' / 'vivado_hls' / 'hls-feb23-sin-userlut-ap_fixed_16_6' / 'csynth.xml'


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('SRCOST_VIVADO_HLS', raising=False)
    monkeypatch.delenv('SRCOST_VITIS_HLS', raising=False)


def test_missing_tool_names_it(tmp_path: Path, design: Design, monkeypatch, clean_env) -> None:
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    for compiler in ('vivado_hls', 'vitis_hls'):
        backend = get_backend(compiler)
        with pytest.raises(ToolNotFound, match=compiler) as err:
            backend.synthesize([design], tmp_path / 'work')
        assert 'settings64.sh' in str(err.value)
        with pytest.raises(ToolNotFound, match=compiler):
            backend.tool_version()
    assert not (tmp_path / 'work').exists()
    monkeypatch.setenv('SRCOST_VIVADO_HLS', str(tmp_path / 'nope' / 'vivado_hls'))
    with pytest.raises(ToolNotFound, match='SRCOST_VIVADO_HLS'):
        HLSBackend('vivado_hls').synthesize([design], tmp_path / 'work')


def test_fake_tool_returns_fixture_numbers(tmp_path: Path, design: Design, monkeypatch, clean_env, userlut_top):
    _fake_tool(tmp_path / 'bin', 'vivado_hls', _copy_report_body(userlut_top))
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}{os.pathsep}{SYSTEM_PATH}')
    backend = HLSBackend('vivado_hls')
    assert backend.name == 'vivado_hls'
    assert backend.tool_version() == '2020.1'
    [r] = backend.synthesize([design], tmp_path / 'work', timeout_s=60)
    assert (r.latency_best, r.latency_worst, r.ii) == (7, 7, 1)
    assert (r.bram_18k, r.dsp, r.ff, r.lut) == (17, 57, 2234, 3796)
    assert r.backend == 'vivado_hls' and r.clock_estimate_method == 'hls estimate'
    assert r.precision == 'ap_fixed<16,6>' and r.design_digest == design.digest()
    project = backend.project_dir(design, tmp_path / 'work')
    args = (project / 'fake_args.txt').read_text().splitlines()
    assert args == ['-f', 'build_prj.tcl', BUILD_ARGS]
    assert 'csynth_design' in Path(r.log_path).read_text()


def test_vitis_and_env_override(tmp_path: Path, design: Design, monkeypatch, clean_env, userlut_top) -> None:
    tool = _fake_tool(tmp_path / 'xilinx', 'my_vitis', _copy_report_body(userlut_top))
    monkeypatch.setenv('PATH', SYSTEM_PATH)
    monkeypatch.setenv('SRCOST_VITIS_HLS', str(tool))
    [r] = get_backend('vitis_hls').synthesize([design], tmp_path / 'work', timeout_s=60)
    assert r.backend == 'vitis_hls' and r.lut == 3796


def test_failing_tool_raises_with_log(tmp_path: Path, design: Design, monkeypatch, clean_env) -> None:
    _fake_tool(tmp_path / 'bin', 'vivado_hls', 'echo "ERROR: [HLS 200-70] Compilation errors found"\nexit 1\n')
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}{os.pathsep}{SYSTEM_PATH}')
    with pytest.raises(SynthesisError, match='exit status 1') as err:
        HLSBackend('vivado_hls').synthesize([design], tmp_path / 'work', timeout_s=60)
    assert err.value.log_path and 'Compilation errors found' in Path(err.value.log_path).read_text()


def test_tool_without_report(tmp_path: Path, design: Design, monkeypatch, clean_env) -> None:
    _fake_tool(tmp_path / 'bin', 'vivado_hls', 'echo "done"\n')
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}{os.pathsep}{SYSTEM_PATH}')
    with pytest.raises(SynthesisError, match='no report') as err:
        HLSBackend('vivado_hls').synthesize([design], tmp_path / 'work', timeout_s=60)
    assert err.value.log_path


def test_hung_tool_times_out(tmp_path: Path, design: Design, monkeypatch, clean_env) -> None:
    _fake_tool(tmp_path / 'bin', 'vivado_hls', 'sleep 60 &\necho $! > sleep.pid\nwait\n')
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}{os.pathsep}{SYSTEM_PATH}')
    backend = HLSBackend('vivado_hls')
    start = time.monotonic()
    with pytest.raises(SynthesisError, match='timed out') as err:
        backend.synthesize([design], tmp_path / 'work', timeout_s=1)
    assert time.monotonic() - start < 30
    assert err.value.log_path
    # the tool's own child went down with it (the whole process group is stopped)
    pid_file = backend.project_dir(design, tmp_path / 'work') / 'sleep.pid'
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its new parent to reap it is not running
        return Path(f'/proc/{pid}/stat').read_text().split(')')[-1].split()[0] != 'Z'
    except OSError:
        return False


def test_backend_options() -> None:
    with pytest.raises(ValueError, match='compiler'):
        HLSBackend('quartus')
    with pytest.raises(TypeError, match='bogus'):
        get_backend('vivado_hls', bogus=1)


def test_written_project(tmp_path: Path, design: Design) -> None:
    project = write_project(design, tmp_path / 'prj', compiler='vivado_hls')
    cpp = (project.root / 'firmware' / 'myproject.cpp').read_text()
    assert 'y[0] = ' in cpp and 'sin_lut(x[2])' in cpp and 'result_t(2.1' in cpp and 'x[3]*x[3]' in cpp
    params = project.parameters_h.read_text()
    assert 'nnet::lookup_table<result_t, 1024, nnet::sin> sin_lut(-4.0, 4.0);' in params
    assert 'typedef ap_fixed<16,6> result_t;' in (project.root / 'firmware' / 'defines.h').read_text()
    tcl = (project.root / 'project.tcl').read_text()
    assert 'set part "xcvu9p-flga2577-2-e"' in tcl and 'set clock_period 5' in tcl
    assert project.build_script.is_file()
    assert f'OutputDir: {project.root}' in (project.root / 'hls4ml_config.yml').read_text()
    assert project.report_path == project.root / 'myproject_prj/solution1/syn/report/myproject_csynth.xml'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['prj']  # no temporary folders left behind

    named = Design.build(['exp_lut(x0) + x1'], 'ap_fixed<18,8>', name='jets', clock_period_ns=2.5)
    p2 = write_project(named, tmp_path / 'prj', compiler='vitis_hls')  # replaces the first project
    assert (p2.root / 'firmware' / 'jets.cpp').is_file() and not (p2.root / 'firmware' / 'myproject.cpp').exists()
    assert 'hls::exp> exp_lut(0.0, 16.0);' in p2.parameters_h.read_text()
    assert 'set clock_period 2.5' in (p2.root / 'project.tcl').read_text()
    with pytest.raises(FileExistsError):
        write_project(named, tmp_path / 'prj', overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['prj']


def test_failed_write_leaves_nothing(tmp_path: Path, design: Design, monkeypatch: pytest.MonkeyPatch) -> None:
    import hls_gen.hls4ml_project as hp

    def boom(written: Path, final: Path) -> None:
        raise OSError('disk full')

    monkeypatch.setattr(hp, '_fix_output_dir', boom)
    with pytest.raises(SynthesisError, match='disk full'):
        write_project(design, tmp_path / 'prj')
    assert list(tmp_path.iterdir()) == []
