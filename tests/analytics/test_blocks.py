"""The column-by-column fast path counts every log exactly as the line-by-line path does.

``feeds.analytics.blocks`` takes only the blocks it can read as
``LogParser.scan`` would; the rest go line by line. These tests ingest the
same random logs, full of the lines that must send a block the slow way
(junk, headers mid-file, CRLF, overlong lines, odd numbers and times), both
ways: what is stored and counted must be identical.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from feeds.analytics import blocks, coalesce, ingest
from feeds.analytics.aggregate import aggregate_downloads
from feeds.analytics.cloudfront import DEFAULT_FIELDS, MAX_LINE, LogParser
from feeds.analytics.models import DownloadEvent, ProcessedLogFile
from feeds.analytics.pipeline import ingest_log_sources
from feeds.analytics.rules import EventMaker
from tests.analytics.conftest import APPLE, BOT, OVERCAST, SIZE, SPOTIFY, T0, cf_line
from tests.analytics.test_packed_requests import counts, reset

AGENTS = (APPLE, OVERCAST, SPOTIFY, BOT, "-", "Pocket%2520Casts")
STEMS = ("/stats-show/0f0e/mp3.mp3", "/stats-show/0f0e/mp3%2Emp3", "/feed.xml")


def _odd(rng: random.Random, line: str) -> str:
    """``line`` with one field scan reads its own way (or refuses)."""
    fields = line.split("\t")
    index = {name: i for i, name in enumerate(DEFAULT_FIELDS)}
    name, value = rng.choice(
        [
            ("sc-status", "+206"),
            ("sc-status", "2_06"),
            ("sc-status", "abc"),
            ("sc-bytes", "-5"),
            ("sc-bytes", "9" * 30),
            ("sc-bytes", " 400000"),
            ("time", "24:00:00"),
            ("time", "09:00"),
            ("time", "09:00:00.5"),
            ("date", "20261130"),
            ("date", "2026-02-30"),
            ("sc-range-start", "-"),  # an end without a start
            ("sc-range-start", ""),
            ("sc-range-end", "-"),
            ("sc-range-end", "12"),
            ("sc-range-start", "-3"),
        ]
    )
    fields[index[name]] = value
    return "\t".join(fields)


def random_log(rng: random.Random, lines: int) -> str:
    """A log file's text: mostly clean request lines, with every kind of trouble in between."""
    out = []
    for _ in range(lines):
        at = T0 + timedelta(seconds=rng.randrange(2 * 86_400))
        first = rng.randrange(0, SIZE, 1000)
        line = cf_line(
            at,
            ip=f"198.51.100.{rng.randrange(8)}",
            agent=rng.choice(AGENTS),
            stem=rng.choice(STEMS),
            first=first,
            last=min(SIZE - 1, first + rng.choice((0, 1, 2, 999, 70_000))),  # 1-3: probes or not
            status=rng.choice((206, 206, 206, 200, 304, 403)),
            method=rng.choice(("GET",) * 9 + ("HEAD",)),
        )
        trouble = rng.random()
        if trouble < 0.002:
            line = rng.choice(["garbage", "\t".join(["x"] * 40), "", "#comment"])
        elif trouble < 0.004:
            line += "\r"
        elif trouble < 0.006:
            line += "\t-"  # an extra field: scan reads the ones it knows
        elif trouble < 0.0065:
            line = "x" * (MAX_LINE + 1)
        elif trouble < 0.0075:
            line = "#Fields: " + " ".join(DEFAULT_FIELDS)  # a header again, mid-file
        elif trouble < 0.04:
            line = _odd(rng, line)
        out.append(line + "\n")
    return "#Version: 1.0\n#Fields: " + " ".join(DEFAULT_FIELDS) + "\n" + "".join(out)


def stored() -> list[tuple]:
    """Every stored request with what its event says of it, in a fixed order."""
    return sorted(
        (e.rendition_id, e.listener, e.listener_before, e.user_agent, e.app, e.os, *request)
        for e in DownloadEvent.objects.all()
        for request in e.request_list()
    )


@pytest.mark.parametrize("seed", range(8))
def test_fast_and_line_by_line_ingest_store_and_count_the_same(
    tmp_path, rendition, seed, monkeypatch
):
    rng = random.Random(seed)
    # Small blocks and limits: many blocks of each kind, flushes mid-file.
    monkeypatch.setattr(blocks, "BLOCK_BYTES", rng.choice((700, 3_000, 20_000)))
    monkeypatch.setattr(coalesce, "MAX_HELD", rng.choice((5, 100, 100_000)))
    monkeypatch.setattr(coalesce, "MAX_GROUPS", rng.choice((2, 100_000)))
    path = tmp_path / "E2ABC.2026-11-30-09.log"
    path.write_text(random_log(rng, 2500), encoding="utf-8")
    now = T0 + timedelta(days=3)

    taken = []
    take = blocks.BlockCounter.take
    monkeypatch.setattr(
        blocks.BlockCounter,
        "take",
        lambda self, block: taken.append(take(self, block)) or taken[-1],
    )

    def run(fast: bool):
        monkeypatch.setattr(ingest, "FAST_PATH", fast)
        [result] = ingest_log_sources([str(path)], now=now)
        requests = stored()
        aggregate_downloads(now=now)
        return result, requests, counts()

    fast = run(True)
    reset()
    ProcessedLogFile.objects.all().delete()
    slow = run(False)

    assert True in taken and False in taken  # both ways were taken, on different blocks
    assert fast[0] == slow[0]  # lines, skipped, requests counted, every reason ignored
    assert fast[1] == slow[1]
    assert fast[2] == slow[2]
    assert fast[0].skipped > 0 and fast[0].events > 0 and len(fast[1]) == fast[0].events


def test_a_clean_block_takes_the_fast_path_and_junk_does_not(rendition):
    paths = ingest.rendition_paths()
    lines = [
        cf_line(T0 + timedelta(seconds=n), first=n * 1000, last=n * 1000 + 999) for n in range(5)
    ]
    clean = "".join(f"{line}\n" for line in lines).encode()
    counter = blocks.BlockCounter(LogParser(), paths, EventMaker("cloudfront"))

    assert counter.take(clean)
    assert counter.requests == 5 and counter.parser.lines == 5
    for junk in (clean + b"garbage\n", clean.replace(b"\n", b"\r\n"), b"#Version: 1.0\n" + clean):
        assert not counter.take(junk)
    assert counter.requests == 5 and counter.parser.lines == 5  # a refused block changed nothing


def test_blocks_end_at_line_ends_and_an_overlong_line_is_cut(tmp_path):
    import io

    long_line = b"y" * (5 * MAX_LINE) + b"\n"
    data = b"a\tb\n" * 100 + long_line + b"c\td\n"

    pieces = list(blocks.blocks(io.BytesIO(data), size=64))

    assert all(piece.endswith(b"\n") for piece in pieces if not piece.startswith(b"y"))
    (cut,) = [piece for piece in pieces if piece.startswith(b"y")]
    assert len(cut) == 4 * MAX_LINE + 1  # bounded, and still longer than any line scan reads
    assert b"".join(p for p in pieces if not p.startswith(b"y")) == b"a\tb\n" * 100 + b"c\td\n"
