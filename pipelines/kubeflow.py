"""Every family's flow compiled to a Kubeflow Pipelines v2 spec.

The pipeline itself is defined in ``infra/kubeflow/pipeline.py``, which runs in its own small
environment (the kfp SDK's pins clash with seqpipe's lock; ``make kubeflow`` creates it). This
module hands it what only seqpipe knows: each family's model names and baselines.

    python -m pipelines.kubeflow --out build/kubeflow            # every family
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from components.core.errors import UserError
from components.families import family_names, get_family
from pipelines.common import PROJECT_DIR

KUBEFLOW_DIR = PROJECT_DIR / "infra" / "kubeflow"
KUBEFLOW_PYTHON = KUBEFLOW_DIR / ".venv" / "bin" / "python"


def family_models(family: str, profile: str = "quick") -> tuple[list[str], list[str]]:
    """The model names of a family's default config and its baselines among them."""
    chosen = get_family(family)
    config = chosen.load_config(profile=profile)
    names = sorted({run.name for run in config.runs()} | set(chosen.baselines))
    return names, [name for name in names if name in chosen.baselines]


def compile_family(family: str, out: Path, image: str = "seqpipe:0.1.0") -> Path:
    """Write ``out``: the family's pipeline spec (YAML, the Kubeflow UI uploads it as is).

    Raises:
        UserError: if the compiler's environment is missing.
    """
    if not KUBEFLOW_PYTHON.exists():
        raise UserError(f"no Kubeflow compiler environment at {KUBEFLOW_DIR}: run `make kubeflow`")
    models, baselines = family_models(family)
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(KUBEFLOW_PYTHON),
            str(KUBEFLOW_DIR / "pipeline.py"),
            "--family",
            family,
            *[option for name in models for option in ("--model", name)],
            *[option for name in baselines for option in ("--baseline", name)],
            "--image",
            image,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for <family>.yaml")
    parser.add_argument("--family", action="append", choices=family_names(), dest="families")
    parser.add_argument("--image", default="seqpipe:0.1.0", help="the seqpipe image the steps run")
    args = parser.parse_args()
    for family in args.families or family_names():
        print(f"written {compile_family(family, args.out / f'{family}.yaml', args.image)}")


if __name__ == "__main__":
    main()
