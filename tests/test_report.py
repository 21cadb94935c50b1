"""The HTML report: self-contained, written for the Japan scenario and a UN General Debate sample,
and (where a Chromium is installed) rendered by a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tonecls.exceptions import OptionError
from tonecls.report import marked_html, render_report, write_report
from tonecls.shift import JAPAN_CARD_STATEMENT, ShiftDetector, japan_scenario

pytest.importorskip("matplotlib")

UN_SAMPLE = Path(__file__).parent / "fixtures" / "un-sample" / "un-scored.csv"


def _external_references(page: str) -> list[str]:
    """Every src/href that would make the browser fetch something."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    return [r for r in refs if not (r.startswith("data:image/png;base64,") or r.startswith("#"))]


@pytest.fixture
def japan_page(tiny_classifier):
    return render_report(japan_scenario(), model=tiny_classifier, detector_options={"since": "2025"},
                         source="japan_scenario")


def test_japan_report_shows_the_card_remark_with_its_phrases(japan_page, tiny_classifier):
    page = japan_page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert _external_references(page) == []
    assert "http://" not in page and "https://" not in page and "<script" not in page
    # One actor, its timeline image, and the card remark as an escalation event, explained by the model given.
    assert page.count('<h2 id="actor-') == 1 and 'alt="tone timeline of JPN"' in page
    assert '<div class="event escalation"><b>2025-05: escalation</b>' in page
    assert marked_html(tiny_classifier.explain(JAPAN_CARD_STATEMENT), 3) in page
    # The top three phrases (or all, if fewer) per event (the period test and the statement test both carry
    # the card remark; the legend's marks are unquoted).
    events = page.count('<div class="event escalation">')
    shown = min(3, len(tiny_classifier.explain(JAPAN_CARD_STATEMENT).phrases))
    assert events >= 1 and shown >= 2 and page.count('<mark class="') == shown * events
    # No reliability diagram in an in-memory model: the report says so instead of failing.
    assert "No reliability diagram in the model folder" in page


def test_japan_level_table_counts_every_statement(japan_page):
    df = japan_scenario()
    rows = re.findall(r"<tr><td class=l>(\d{4})</td><td>(\d+)</td>((?:<td>\d+</td>){5})", japan_page)
    assert sum(int(n) for _, n, _ in rows) == len(df)
    for _, n, cells in rows:
        assert sum(map(int, re.findall(r"\d+", cells))) == int(n)


def test_un_sample_report(tmp_path, tiny_model_dir):
    from tonecls.cli import main

    out = tmp_path / "un" / "report.html"
    assert main(["report", str(UN_SAMPLE), "-o", str(out), "--model", str(tiny_model_dir)]) == 0
    page = out.read_text(encoding="utf-8")
    assert _external_references(page) == []
    df = pd.read_csv(UN_SAMPLE)
    assert [a for a in re.findall(r'<h2 id="actor-\d+">([^<]+)</h2>', page)] == sorted(df["actor"].unique())
    # The level table uses the archive's own level column: check one actor-year against the file.
    ukr = df[(df["actor"] == "UKR") & df["date"].str.startswith("2014")]
    counts = np.bincount(ukr["level"], minlength=5)
    section = page[page.index('>UKR</h2>'):]
    assert f"<tr><td class=l>2014</td><td>{len(ukr)}</td>" + "".join(f"<td>{c}</td>" for c in counts) in section
    # Every event shows its statements, with marked phrases.
    events = page.split('<div class="event')[1:]
    assert events, "the sample should hold at least one event (UKR 2014)"
    for chunk in events:
        chunk = chunk.split("<h3>")[0]
        assert "<div class=stmt>" in chunk and "<mark " in chunk


def test_report_options_are_checked(tmp_path, tiny_classifier):
    with pytest.raises(OptionError, match=r"\*\.html"):
        write_report(japan_scenario(), tmp_path / "report.pdf", model=tiny_classifier)
    with pytest.raises(OptionError, match="either detector or detector_options"):
        write_report(japan_scenario(), tmp_path / "r.html", model=tiny_classifier, detector=ShiftDetector(),
                     detector_options={"alpha": 0.1})
    from tonecls.cli import main

    assert main(["report", str(UN_SAMPLE), "-o", str(tmp_path / "r.html"), "--actor-column", "country"]) == 2


def _browser() -> str | None:
    return next((b for b in ("chromium", "chromium-browser", "google-chrome", "chrome") if shutil.which(b)), None)


@pytest.mark.skipif(_browser() is None, reason="no Chromium installed (Debian: apt-get install chromium); the "
                                               "report's rendering in a real browser is not checked here")
def test_report_renders_in_headless_chromium(tmp_path, tiny_classifier):
    from PIL import Image

    page = tmp_path / "japan.html"
    write_report(japan_scenario(), page, model=tiny_classifier, detector_options={"since": "2025"})
    shot = tmp_path / "japan.png"
    subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1200,1800", f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape[:2] == (1800, 1200)

    def near(rgb, tol=12):
        return int((np.abs(img - np.array(rgb)).max(axis=2) <= tol).sum())

    def columns(rgb, tol=8, least=20):
        """The image columns holding at least ``least`` pixels of this colour."""
        return np.flatnonzero((np.abs(img - np.array(rgb)).max(axis=2) <= tol).sum(axis=0) >= least)

    # Painted, not blank: text, the escalation event's red border, marked phrases, the timeline's band.
    assert (img.sum(axis=2) < 200).sum() > 2000
    assert near((0xd7, 0x19, 0x1c)) > 100                                   # event border / top level colour
    assert near((0xfd, 0xd0, 0xc8)) + near((0xcd, 0xec, 0xcf)) > 200          # <mark> backgrounds
    # The history band (tab:blue at alpha 0.15) spans the history (2011-08 to 2024: most of the timeline's
    # ~750 px of axis), not just the tested statement; the tested period 2025 (gold at alpha 0.25) is shaded
    # at its right end, after the history.
    band, tested = columns((221, 235, 244)), columns((255, 245, 191))
    assert near((221, 235, 244), tol=8) > 20_000 and band.size > 400, (near((221, 235, 244), tol=8), band.size)
    assert 20 <= tested.size <= 150 and tested.min() > band.min() + 400, (tested, band.min())
