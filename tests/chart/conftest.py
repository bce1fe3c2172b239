import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import chartlib  # noqa: E402


def example_values() -> list[Path]:
    return sorted((chartlib.CHART / "examples").glob("*.yaml"))


# Every way the chart is rendered: defaults, and each documented example values file.
RENDERINGS = [("default", [])] + [(p.stem, [p]) for p in example_values()]


@pytest.fixture(scope="session")
def operator_src() -> Path:
    """The operator's source (override: SWITCHBOARD_OPERATOR_SRC). It must contain the
    controllers: the RBAC test compares the chart with the API calls made there."""
    src = Path(os.environ.get("SWITCHBOARD_OPERATOR_SRC", chartlib.REPO / "operator" / "src"))
    if not any("Controller::new" in p.read_text() for p in src.rglob("*.rs")):
        pytest.fail(
            f"no kube Controller in {src}: the operator's controllers are not in this tree "
            "(merge the operator, or set SWITCHBOARD_OPERATOR_SRC=/path/to/operator/src)"
        )
    return src


@pytest.fixture(scope="session")
def default_render():
    return chartlib.render()
