"""Vivado HLS / Vitis HLS C-synthesis reports (``<top>_csynth.xml``, ``csynth.xml``).

Reports are read by XML tag, never by line position. Vivado HLS names the DSP count ``DSP48E``,
Vitis HLS names it ``DSP``; everything else used here has the same tag in both tools::

    profile/ReportVersion/Version
    profile/UserAssignments/{Part, TopModelName, TargetClockPeriod}
    profile/PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod
    profile/PerformanceEstimates/SummaryOfOverallLatency/{Best-caseLatency, Worst-caseLatency,
                                                         Interval-min, Interval-max, PipelineInitiationInterval}
    profile/AreaEstimates/Resources/{BRAM_18K, DSP48E | DSP, FF, LUT, URAM}
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .errors import ReportParseError
from .result import SynthResult

MAX_REPORT_BYTES = 50 * 1024 * 1024
HLS_BACKENDS = ('vivado_hls', 'vitis_hls')
HLS4ML_DEFAULT_PROJECT = 'myproject'  # hls4ml's default project (and top function) name

_LATENCY = 'PerformanceEstimates/SummaryOfOverallLatency'
_RESOURCES = 'AreaEstimates/Resources'


@dataclass(frozen=True)
class CsynthReport:
    """The numbers of one csynth report (one function: the top or a sub-function)."""

    path: str
    top: str
    part: str
    tool_version: str
    target_clock_ns: float
    estimated_clock_ns: float
    latency_best: int  # cycles
    latency_worst: int
    interval_min: int
    interval_max: int
    pipeline_ii: int | None  # PipelineInitiationInterval, when the function is pipelined
    bram_18k: int
    dsp: int
    ff: int
    lut: int
    uram: int
    dsp_tag: str  # 'DSP48E' (Vivado HLS) or 'DSP' (Vitis HLS)

    @property
    def backend(self) -> str:
        """The tool that wrote the report, told by the DSP tag."""
        return 'vivado_hls' if self.dsp_tag == 'DSP48E' else 'vitis_hls'

    @property
    def ii(self) -> int:
        """The initiation interval: the worst-case interval between two inputs (``Interval-max``)."""
        return self.interval_max

    def to_synth_result(
        self,
        backend: str | None = None,
        precision: str = '',
        design_digest: str = '',
        log_path: str | None = None,
        clock_period_ns: float | None = None,
    ) -> SynthResult:
        backend = backend or self.backend
        if backend not in HLS_BACKENDS:
            raise ValueError(f'backend must be one of {", ".join(HLS_BACKENDS)}, got {backend!r}')
        return SynthResult(
            backend=backend,
            tool=backend,
            tool_version=self.tool_version,
            part=self.part,
            precision=precision,
            clock_period_ns=self.target_clock_ns if clock_period_ns is None else float(clock_period_ns),
            latency_best=self.latency_best,
            latency_worst=self.latency_worst,
            ii=self.ii,
            lut=self.lut,
            ff=self.ff,
            dsp=self.dsp,
            bram_18k=self.bram_18k,
            uram=self.uram,
            clock_estimate_ns=self.estimated_clock_ns,
            clock_estimate_method='hls estimate',
            latency_method=f'{backend} csynth report ({Path(self.path).name})',
            design_digest=design_digest,
            log_path=log_path,
        )


def _read_root(source: str | Path) -> tuple[ET.Element, str]:
    path = Path(source)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ReportParseError(f'cannot read csynth report {path}: {e.strerror or e}') from None
    if size > MAX_REPORT_BYTES:
        raise ReportParseError(f'{path} is {size} bytes: too large to be a csynth report')
    text = path.read_bytes()
    if b'<!DOCTYPE' in text or b'<!ENTITY' in text:
        raise ReportParseError(f'{path}: csynth reports have no DTD or entities; refusing to parse this file')
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise ReportParseError(f'{path} is not well-formed XML: {e}') from None
    for el in root.iter():  # drop any namespace so tags match in every tool version
        if isinstance(el.tag, str) and '}' in el.tag:
            el.tag = el.tag.split('}', 1)[1]
    if root.tag != 'profile':
        raise ReportParseError(f'{path}: root element is <{root.tag}>, expected <profile> (a csynth XML report)')
    return root, str(path)


def _text(root: ET.Element, tag_path: str, where: str, required: bool = True) -> str | None:
    el = root.find(tag_path)
    if el is None or el.text is None or not el.text.strip():
        if required:
            raise ReportParseError(f'{where}: missing <{tag_path.rsplit("/", 1)[-1]}> (at {tag_path})')
        return None
    return el.text.strip()


def _int(root: ET.Element, tag_path: str, where: str, required: bool = True) -> int | None:
    raw = _text(root, tag_path, where, required)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        tag = tag_path.rsplit('/', 1)[-1]
        if raw.lower() in ('undef', '?', '-'):
            raise ReportParseError(
                f'{where}: <{tag}> is {raw!r}: the tool could not bound it (a loop with a variable trip count?)'
            ) from None
        raise ReportParseError(f'{where}: <{tag}> is {raw!r}, expected an integer') from None


def _float(root: ET.Element, tag_path: str, where: str) -> float:
    raw = _text(root, tag_path, where)
    m = re.match(r'^\s*([0-9.eE+-]+)', raw)
    try:
        return float(m.group(1)) if m else float(raw)
    except ValueError:
        raise ReportParseError(f'{where}: <{tag_path.rsplit("/", 1)[-1]}> is {raw!r}, expected a number') from None


def parse_csynth_xml(path: str | Path) -> CsynthReport:
    """Parse one csynth XML report. Raises ReportParseError naming the first missing or malformed tag."""
    root, where = _read_root(path)
    res = root.find(_RESOURCES)
    if res is None:
        raise ReportParseError(f'{where}: missing <Resources> (at {_RESOURCES})')
    if res.find('DSP48E') is not None:
        dsp_tag = 'DSP48E'
    elif res.find('DSP') is not None:
        dsp_tag = 'DSP'
    else:
        raise ReportParseError(f'{where}: missing <DSP48E> (Vivado HLS) or <DSP> (Vitis HLS) in {_RESOURCES}')
    interval_max = _int(root, f'{_LATENCY}/Interval-max', where, required=False)
    pipeline_ii = _int(root, f'{_LATENCY}/PipelineInitiationInterval', where, required=False)
    if interval_max is None and pipeline_ii is None:
        raise ReportParseError(f'{where}: missing <Interval-max> (at {_LATENCY}/Interval-max)')
    interval_min = _int(root, f'{_LATENCY}/Interval-min', where, required=False)
    if interval_max is None:
        interval_max = pipeline_ii
    return CsynthReport(
        path=where,
        top=_text(root, 'UserAssignments/TopModelName', where),
        part=_text(root, 'UserAssignments/Part', where),
        tool_version=_text(root, 'ReportVersion/Version', where, required=False) or '',
        target_clock_ns=_float(root, 'UserAssignments/TargetClockPeriod', where),
        estimated_clock_ns=_float(root, 'PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod', where),
        latency_best=_int(root, f'{_LATENCY}/Best-caseLatency', where),
        latency_worst=_int(root, f'{_LATENCY}/Worst-caseLatency', where),
        interval_min=interval_max if interval_min is None else interval_min,
        interval_max=interval_max,
        pipeline_ii=pipeline_ii,
        bram_18k=_int(root, f'{_RESOURCES}/BRAM_18K', where),
        dsp=_int(root, f'{_RESOURCES}/{dsp_tag}', where),
        ff=_int(root, f'{_RESOURCES}/FF', where),
        lut=_int(root, f'{_RESOURCES}/LUT', where),
        uram=_int(root, f'{_RESOURCES}/URAM', where, required=False) or 0,
        dsp_tag=dsp_tag,
    )


def parse_report(
    path: str | Path,
    backend: str | None = None,
    precision: str = '',
    design_digest: str = '',
    log_path: str | None = None,
) -> SynthResult:
    """Parse a csynth XML report into a SynthResult (backend told by the DSP tag unless given)."""
    return parse_csynth_xml(path).to_synth_result(backend, precision, design_digest, log_path)


def _top_model_name(path: Path) -> str | None:
    try:
        root, _ = _read_root(path)
    except ReportParseError:
        return None
    el = root.find('UserAssignments/TopModelName')
    return el.text.strip() if el is not None and el.text else None


def _project_name(project_dir: Path) -> str | None:
    """hls4ml's project name from ``hls4ml_config.yml`` or ``project.tcl``, read with a regex (no YAML/Tcl eval)."""
    for name, pattern in (
        ('hls4ml_config.yml', r'^ProjectName:\s*["\']?([A-Za-z_]\w*)'),
        ('project.tcl', r'^set\s+project_name\s+"?([A-Za-z_]\w*)'),
    ):
        f = project_dir / name
        if f.is_file():
            m = re.search(pattern, f.read_text(errors='replace'), re.MULTILINE)
            if m:
                return m.group(1)
    return None


def _prj_dir_of(report_dir: Path) -> str | None:
    """``myproject`` for ``.../myproject_prj/solution1/syn/report``."""
    parts = report_dir.parts
    if len(parts) >= 4 and parts[-1] == 'report' and parts[-2] == 'syn' and parts[-4].endswith('_prj'):
        return parts[-4][: -len('_prj')]
    return None


def _report_dirs(project_dir: Path, top: str | None) -> list[Path]:
    """Folders that may hold the report, most specific first."""
    prj = sorted(project_dir.glob('*_prj'))
    if top is not None:
        prj.sort(key=lambda p: p.name != f'{top}_prj')
    dirs = []
    for p in [*prj, project_dir]:
        sols = sorted(p.glob('solution*/syn/report'), key=lambda d: (d.parent.parent.name != 'solution1', str(d)))
        dirs.extend(sols)
    dirs.extend(d for d in (project_dir / 'syn' / 'report', project_dir / 'report', project_dir) if d.is_dir())
    return dirs


def find_top_report(project_dir: str | Path, top: str | None = None) -> Path:
    """The csynth XML report of the top function under ``project_dir``.

    Understands hls4ml's layout (``<dir>/<project>_prj/solution1/syn/report/<project>_csynth.xml``) and a
    flat folder of reports. The top is ``top`` if given, else the project name from ``hls4ml_config.yml``
    or ``project.tcl``; without a known top, ``csynth.xml`` (the top's summary both tools write), else the
    only XML report, else ``myproject_csynth.xml`` (hls4ml's default project name).
    Raises ReportParseError when no report (or no single top) is found.
    """
    root = Path(project_dir)
    if root.is_file():
        return root
    if not root.is_dir():
        raise ReportParseError(f'no such report or project folder: {root}')
    if top is None:
        top = _project_name(root)
    dirs = _report_dirs(root, top)
    for d in dirs:
        if top is not None:
            named = d / f'{top}_csynth.xml'
            if named.is_file():
                return named
            for cand in [d / 'csynth.xml', *sorted(d.glob('*.xml'))]:
                if cand.is_file() and _top_model_name(cand) == top:
                    return cand
        else:
            if (d / 'csynth.xml').is_file():
                return d / 'csynth.xml'
            prj = _prj_dir_of(d)
            if prj is not None and (d / f'{prj}_csynth.xml').is_file():
                return d / f'{prj}_csynth.xml'
            xmls = sorted(d.glob('*.xml'))
            if len(xmls) == 1:
                return xmls[0]
            default = d / f'{HLS4ML_DEFAULT_PROJECT}_csynth.xml'
            if default.is_file() and _top_model_name(default) == HLS4ML_DEFAULT_PROJECT:
                return default
            if len(xmls) > 1:
                names = ', '.join(x.name for x in xmls)
                raise ReportParseError(f'{d} holds several csynth reports ({names}): pass top=<top function name>')
    wanted = f'{top}_csynth.xml' if top else 'a csynth XML report'
    raise ReportParseError(
        f'no {wanted} found under {root} (looked in {", ".join(str(d) for d in dirs) or root}); '
        'did C synthesis run and finish?'
    )


def parse_project(
    project_dir: str | Path,
    top: str | None = None,
    backend: str | None = None,
    precision: str = '',
    design_digest: str = '',
    log_path: str | None = None,
) -> SynthResult:
    """Find the top-level report under ``project_dir`` and parse it."""
    return parse_report(find_top_report(project_dir, top), backend, precision, design_digest, log_path)
