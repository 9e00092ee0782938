"""Property tests: whatever bytes a file holds, loading it gives a Tenant or positioned problems.

Never another exception, never a traceback: the CLI relies on this.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sage365.declaration import DeclarationError, Tenant, load_tenant

EXAMPLE = Path("tenants/contoso.yaml").read_bytes()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_problems(path: Path) -> Tenant | list:
    try:
        return load_tenant(path)
    except DeclarationError as exc:
        assert exc.problems, "an error always says what is wrong"
        for problem in exc.problems:
            assert problem.path == str(path)
            assert problem.line >= 1 and problem.column >= 1
            assert problem.message
        return exc.problems


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(tmp_path, data):
    path = tmp_path / "contoso.yaml"
    path.write_bytes(data)
    load_or_problems(path)


@FUZZ
@given(
    cuts=st.lists(st.tuples(st.integers(0, len(EXAMPLE)), st.binary(max_size=8)), min_size=1, max_size=4)
)
def test_mutated_example(tmp_path, cuts):
    data = bytearray(EXAMPLE)
    for offset, insert in cuts:
        data[offset:offset + len(insert)] = insert
    path = tmp_path / "contoso.yaml"
    path.write_bytes(bytes(data))
    load_or_problems(path)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"# \n\t%@`,?0")), max_size=400))
def test_yaml_punctuation(tmp_path, text):
    path = tmp_path / "contoso.yaml"
    path.write_text(text, encoding="utf-8")
    load_or_problems(path)
