"""Every bad input across every verb: exit 2 (1 for a cohort with failed cases), no traceback, one line naming
the file and the fix, nothing left behind. The table lives in ``bad_inputs.py``; ``docs/errors.md`` is made
from it by ``Utilities/make_errors_doc.py`` and checked here to be current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bad_inputs import CASES, make_world, normalise, problems, run_case

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "errors.md"


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("bad-inputs-world"))


def test_the_table_is_large_and_covers_every_verb():
    from nbrisk.cli import build_parser

    assert len(CASES) >= 100
    verbs = {c.verb for c in CASES}
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = set(sub.choices) - verbs
    assert not missing, f"verbs without a bad-input row: {missing}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, world, tmp_path):
    res = run_case(case, world, tmp_path / "case")
    if isinstance(res, str):
        pytest.skip(res)
    assert not problems(case, res), f"{problems(case, res)}\nstderr:\n{res.stderr[-2000:]}\n{res.exception}"
    documented = _doc_rows().get(case.id)
    assert documented is not None, f"{case.id} is not in docs/errors.md; run Utilities/make_errors_doc.py"
    assert documented == normalise(res.message, tmp_path / "case", world.root), (
        "docs/errors.md is stale for this case; run Utilities/make_errors_doc.py")


def test_errors_doc_lists_exactly_the_table():
    assert list(_doc_rows()) == [c.id for c in CASES], "docs/errors.md is stale; run Utilities/make_errors_doc.py"


def _doc_rows() -> dict[str, str]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `([^`]+)` \| [^|]+ \| .* \| `(.*)` \|$", line)
        if m:
            rows[m.group(1)] = m.group(2).replace("\\|", "|")
    return rows


def test_every_single_bit_flip_of_a_bundle_is_refused(world, tmp_path):
    """About 300 single-bit flips spread over the whole file (members, local headers, central directory, end
    record, seal): each is refused with a one-line message naming the file, none loads, none raises
    anything but an NBRiskError."""
    import numpy as np

    from nbrisk.bundle.format import load_bundle
    from nbrisk.errors import NBRiskError

    data = world["bundle"].read_bytes()
    rng = np.random.default_rng(19)
    positions = sorted(set(rng.choice(len(data), 292, replace=False).tolist()) | {len(data) - 1, len(data) - 70, 0, 30})
    cd = data.rfind(b"PK\x01\x02")
    positions += [cd + 12, cd + 16, cd + 38, data.rfind(b"PK\x05\x06") + 8]  # central-directory fields
    target = tmp_path / "flip.nbrisk"
    refused = 0
    for pos in positions:
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(0, 8))
        target.write_bytes(bytes(flipped))
        with pytest.raises(NBRiskError) as exc:
            load_bundle(target)
        msg = str(exc.value)
        assert str(target) in msg and "\n" not in msg and re.search(r"\b(get|use|re-save|re-export)", msg), msg
        refused += 1
    assert refused == len(positions) >= 296
