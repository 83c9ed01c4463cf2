"""Parsing Vivado HLS / Vitis HLS csynth XML reports (real Vivado HLS 2020.1 fixtures from ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hls_gen.errors import ReportParseError
from hls_gen.reports import find_top_report, parse_csynth_xml, parse_project, parse_report

# Expected numbers read by hand from each top-level report (myproject, xcvu9p-flga2577-2-e, 5 ns):
# folder -> (top report file, latency best, latency worst, II, BRAM_18K, DSP48E, FF, LUT, estimated clock ns)
EXPECTED = {
    'hls-feb23-sin-nonlut-ap_fixed_16_6': ('myproject_csynth.xml', 14, 14, 1, 0, 92, 11361, 58386, 4.367),
    'hls-feb23-sin-lut-ap_fixed_16_6': ('csynth.xml', 8, 8, 1, 34, 74, 14475, 25651, 4.339),
    'hls-feb23-sin-userlut-ap_fixed_16_6': ('csynth.xml', 7, 7, 1, 17, 57, 2234, 3796, 4.092),
}


@pytest.fixture
def fixtures(shared_dir: Path) -> Path:
    """The real Vivado HLS 2020.1 reports (shared_dir skips the test when ../shared is absent)."""
    return shared_dir / 'fixtures' / 'vivado_hls'


@pytest.mark.parametrize('folder', sorted(EXPECTED))
def test_fixture_top_report_numbers(fixtures: Path, folder: str) -> None:
    top_file, lat_best, lat_worst, ii, bram, dsp, ff, lut, clk = EXPECTED[folder]
    path = find_top_report(fixtures / folder, top='myproject')
    assert path.name == top_file
    r = parse_report(path, precision='ap_fixed<16,6>')
    assert (r.latency_best, r.latency_worst, r.ii) == (lat_best, lat_worst, ii)
    assert (r.bram_18k, r.dsp, r.ff, r.lut, r.uram) == (bram, dsp, ff, lut, 0)
    assert r.clock_estimate_ns == pytest.approx(clk)
    assert r.clock_period_ns == 5.0
    assert r.part == 'xcvu9p-flga2577-2-e'
    assert r.tool_version == '2020.1'
    assert r.backend == 'vivado_hls' and r.tool == 'vivado_hls'
    assert r.clock_estimate_method == 'hls estimate'
    assert r.precision == 'ap_fixed<16,6>'
    assert r.latency_cycles == lat_worst


def test_find_top_without_a_name(fixtures: Path) -> None:
    # csynth.xml when there is one; hls4ml_config.yml's ProjectName; else hls4ml's default project name
    for folder, (top_file, *_rest) in EXPECTED.items():
        assert find_top_report(fixtures / folder).name == top_file
        assert parse_project(fixtures / folder).latency_worst == EXPECTED[folder][2]


def test_sub_function_reports(fixtures: Path) -> None:
    nonlut = fixtures / 'hls-feb23-sin-nonlut-ap_fixed_16_6'
    sincos = parse_csynth_xml(find_top_report(nonlut, top='generic_sincos_16_6_s'))
    assert sincos.top == 'generic_sincos_16_6_s'
    assert (sincos.latency_worst, sincos.ii, sincos.dsp, sincos.ff, sincos.lut) == (8, 1, 2, 550, 3328)
    # resources listed in another order in this report
    cordic = parse_csynth_xml(nonlut / 'cordic_circ_apfixed_18_3_0_s_csynth.xml')
    assert (cordic.latency_worst, cordic.bram_18k, cordic.dsp, cordic.ff, cordic.lut) == (4, 0, 0, 273, 3018)
    op = parse_csynth_xml(fixtures / 'hls-feb23-sin-userlut-ap_fixed_16_6' / 'operator_s_csynth.xml')
    assert (op.top, op.latency_worst, op.bram_18k, op.dsp, op.ff, op.lut) == ('operator_s', 1, 1, 0, 2, 117)


def _vitis_xml(dsp_tag: str = 'DSP', drop: str = '', latency: str = '23') -> str:
    resources = {'BRAM_18K': 2, dsp_tag: 7, 'FF': 1234, 'LUT': 5678, 'URAM': 1}
    res = ''.join(f'<{k}>{v}</{k}>' for k, v in resources.items() if k != drop)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.1</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit><ProductFamily>virtexuplus</ProductFamily><Part>xcvu9p-flga2577-2-e</Part>
    <TopModelName>myproject</TopModelName><TargetClockPeriod>5.00</TargetClockPeriod>
    <ClockUncertainty>1.35</ClockUncertainty><FlowTarget>vivado</FlowTarget>
  </UserAssignments>
  <PerformanceEstimates>
    <PipelineType>yes</PipelineType>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>3.650</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit><Best-caseLatency>21</Best-caseLatency><Average-caseLatency>22</Average-caseLatency>
      <Worst-caseLatency>{latency}</Worst-caseLatency><Interval-min>1</Interval-min><Interval-max>2</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources>{res}</Resources>
    <AvailableResources>
      <BRAM_18K>4320</BRAM_18K><DSP>6840</DSP><FF>2364480</FF><LUT>1182240</LUT><URAM>960</URAM>
    </AvailableResources>
  </AreaEstimates>
</profile>
"""


def test_vitis_style_report(tmp_path: Path) -> None:
    f = tmp_path / 'csynth.xml'
    f.write_text(_vitis_xml())
    rep = parse_csynth_xml(f)
    assert rep.dsp_tag == 'DSP' and rep.backend == 'vitis_hls'
    r = rep.to_synth_result(precision='ap_fixed<18,8>')
    assert r.backend == 'vitis_hls' and r.tool_version == '2023.1'
    assert (r.latency_best, r.latency_worst, r.ii) == (21, 23, 2)
    assert (r.bram_18k, r.dsp, r.ff, r.lut, r.uram) == (2, 7, 1234, 5678, 1)
    assert r.clock_estimate_ns == pytest.approx(3.65) and r.clock_period_ns == 5.0
    assert rep.pipeline_ii is None and rep.interval_min == 1


def test_hls4ml_layout(tmp_path: Path) -> None:
    report_dir = tmp_path / 'out' / 'jets_prj' / 'solution1' / 'syn' / 'report'
    report_dir.mkdir(parents=True)
    (report_dir / 'jets_csynth.xml').write_text(_vitis_xml().replace('>myproject<', '>jets<'))
    (report_dir / 'sub_fn_csynth.xml').write_text(_vitis_xml().replace('>myproject<', '>sub_fn<'))
    assert find_top_report(tmp_path / 'out') == report_dir / 'jets_csynth.xml'
    assert find_top_report(tmp_path / 'out', top='jets') == report_dir / 'jets_csynth.xml'
    assert parse_project(tmp_path / 'out', top='sub_fn').dsp == 7


@pytest.mark.parametrize('tag', ['LUT', 'FF', 'BRAM_18K'])
def test_missing_tag_is_named(tmp_path: Path, tag: str) -> None:
    f = tmp_path / 'csynth.xml'
    f.write_text(_vitis_xml(drop=tag))
    with pytest.raises(ReportParseError, match=f'<{tag}>'):
        parse_csynth_xml(f)


def test_missing_dsp_and_bad_values(tmp_path: Path) -> None:
    f = tmp_path / 'csynth.xml'
    f.write_text(_vitis_xml(drop='DSP'))
    with pytest.raises(ReportParseError, match='DSP48E'):
        parse_csynth_xml(f)
    f.write_text(_vitis_xml(latency='undef'))
    with pytest.raises(ReportParseError, match='Worst-caseLatency.*undef'):
        parse_csynth_xml(f)
    f.write_text(_vitis_xml().replace('<Worst-caseLatency>23</Worst-caseLatency>', ''))
    with pytest.raises(ReportParseError, match='<Worst-caseLatency>'):
        parse_csynth_xml(f)
    f.write_text('<profile><oops></profile>')
    with pytest.raises(ReportParseError, match='not well-formed'):
        parse_csynth_xml(f)
    f.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><profile>&a;</profile>')
    with pytest.raises(ReportParseError, match='DTD'):
        parse_csynth_xml(f)
    with pytest.raises(ReportParseError, match='cannot read'):
        parse_csynth_xml(tmp_path / 'absent.xml')


def test_no_report_found(tmp_path: Path) -> None:
    with pytest.raises(ReportParseError, match='myproject_csynth.xml'):
        find_top_report(tmp_path, top='myproject')
    (tmp_path / 'a_csynth.xml').write_text(_vitis_xml().replace('>myproject<', '>a<'))
    (tmp_path / 'b_csynth.xml').write_text(_vitis_xml().replace('>myproject<', '>b<'))
    with pytest.raises(ReportParseError, match='several csynth reports'):
        find_top_report(tmp_path)
