"""yamllint on every YAML file we write and on everything the chart and kustomize render."""

import pytest

import chartlib
from conftest import RENDERINGS

CONFIG = chartlib.REPO / "tests" / "chart" / "yamllint.yaml"


def yamllint(*args: str, stdin: str | None = None):
    import subprocess

    result = subprocess.run([chartlib.tool("yamllint"), "-s", "-f", "parsable", "-c", str(CONFIG), *args],
                            input=stdin, capture_output=True, text=True, cwd=chartlib.REPO, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_sources():
    yamllint("charts/switchboard", "deploy", "tests/chart")


@pytest.mark.parametrize("name,values", RENDERINGS, ids=[r[0] for r in RENDERINGS])
def test_yamllint_helm_output(name, values):
    # CRDs are linted as files (their generated descriptions are long lines).
    _, text = chartlib.render(values, crds=False)
    yamllint("-", stdin=text)


def test_yamllint_kustomize_output():
    for path in [chartlib.DEPLOY] + sorted(p.parent for p in (chartlib.DEPLOY / "examples").glob("*/kustomization.yaml")):
        _, text = chartlib.kustomize(path)
        docs = [d for d in text.split("\n---\n") if "\nkind: CustomResourceDefinition\n" not in "\n" + d]
        yamllint("-", stdin="\n---\n".join(docs))
